"""`make up`: start the local stack in the foreground, print where everything is, stop on Ctrl-C.

    python -m infra.local [--port 8000] [--moto-port 5100] [--clock-speed 1] [--quiet]
"""

from __future__ import annotations

import argparse
import signal
import threading

from infra.local.stack import LocalConfig, LocalStack


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="the API gateway's port (127.0.0.1)")
    parser.add_argument("--moto-port", type=int, default=5100, help="moto's port, the AWS endpoint")
    parser.add_argument("--phonepe-port", type=int, default=8100, help="the PhonePe sandbox's port (127.0.0.1)")
    parser.add_argument("--shiprocket-port", type=int, default=8200,
                        help="the Shiprocket sandbox's port (127.0.0.1)")
    parser.add_argument("--clock-speed", type=float, default=1.0,
                        help="run schedules this many times faster (e.g. 60: a 5-minute rate fires every 5 s)")
    parser.add_argument("--quiet", action="store_true", help="no access log lines")
    args = parser.parse_args()

    config = LocalConfig(api_port=args.port, moto_port=args.moto_port, phonepe_port=args.phonepe_port,
                         shiprocket_port=args.shiprocket_port,
                         clock_speed=args.clock_speed, log_requests=not args.quiet)
    stack = LocalStack(config)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stack.start()
    try:
        url = stack.url
        print(
            "\nBazaar local stack is up (127.0.0.1 only)\n"
            f"  API               {url}   (try {url}/health)\n"
            f"  OpenAPI           {url}/_local/openapi.json\n"
            f"  Swagger UI        {url}/_local/docs\n"
            f"  Schedules         {url}/_local/schedules   (fire one: curl -X POST {url}/_local/schedules/<name>/run)\n"
            f"  Topology          {url}/_local/topology\n"
            f"  AWS endpoint      {stack.aws_endpoint}   (AWS_ENDPOINT_URL for boto3 / the aws CLI)\n"
            f"  moto dashboard    {stack.aws_endpoint}/moto-api/\n"
            + "".join(f"  {s.name + ' sandbox':<17} {s.url}   (control API: {s.url}/_sandbox)\n"
                      for s in stack.sandboxes)
            + f"  Accounts          {config.state_dir / 'local-accounts.json'}\n"
            + "".join(f"    {role:<9} {a['email']}  {a['password']}\n" for role, a in stack.accounts.items())
            + "Press Ctrl-C to stop.\n",
            flush=True,
        )
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", flush=True)
        stack.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    main()
