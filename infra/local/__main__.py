"""`make up`: start the local stack in the foreground, print where everything is, stop on Ctrl-C.

    python -m infra.local [--port 8000] [--moto-port 5100] [--clock-speed 1] [--return-window-days 0] [--quiet]
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import threading

from infra.description import SERVICE
from infra.local.stack import LocalConfig, LocalStack


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="the API gateway's port (127.0.0.1)")
    parser.add_argument("--moto-port", type=int, default=5100, help="moto's port, the AWS endpoint")
    parser.add_argument("--aws-faults-port", type=int, default=5150,
                        help="the fault proxy's port: the functions' AWS endpoint, with its control API at /_faults")
    parser.add_argument("--phonepe-port", type=int, default=8100, help="the PhonePe sandbox's port (127.0.0.1)")
    parser.add_argument("--shiprocket-port", type=int, default=8200,
                        help="the Shiprocket sandbox's port (127.0.0.1)")
    parser.add_argument("--razorpayx-port", type=int, default=8300,
                        help="the RazorpayX sandbox's port (127.0.0.1)")
    parser.add_argument("--websocket-port", type=int, default=8400,
                        help="the first WebSocket API's port (127.0.0.1); further APIs take the next ones")
    parser.add_argument("--websocket-management-port", type=int, default=8450,
                        help="the WebSocket management endpoint's port (@connections)")
    parser.add_argument("--clock-speed", type=float, default=1.0,
                        help="run schedules this many times faster (e.g. 60: a 5-minute rate fires every 5 s)")
    parser.add_argument("--return-window-days", type=float, default=None,
                        help="the return window after delivery before a sale is paid out (the description's "
                             "RETURN_WINDOW_DAYS otherwise); 0 lets `make demo` show the payout")
    parser.add_argument("--quiet", action="store_true", help="no access log lines")
    args = parser.parse_args()

    config = LocalConfig(api_port=args.port, moto_port=args.moto_port, aws_faults_port=args.aws_faults_port,
                         phonepe_port=args.phonepe_port,
                         shiprocket_port=args.shiprocket_port, razorpayx_port=args.razorpayx_port,
                         websocket_port=args.websocket_port, websocket_management_port=args.websocket_management_port,
                         clock_speed=args.clock_speed, log_requests=not args.quiet)
    service = SERVICE
    if args.return_window_days is not None:
        service = dataclasses.replace(SERVICE, settings={**SERVICE.settings,
                                                         "RETURN_WINDOW_DAYS": f"{args.return_window_days:g}"})
    stack = LocalStack(config, service)
    # Ctrl-C and SIGTERM only ask to stop; the main thread then stops the stack in order. A
    # KeyboardInterrupt raised wherever the main thread happens to be (inside start(), or halfway
    # through stop()) would skip part of the shutdown and print a traceback.
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        try:
            stack.start()
        except Exception:
            if not stopping.is_set():
                raise
            # Ctrl-C reaches moto's process too, which then quits under the starting stack.
            print("interrupted while starting.", flush=True)
            return
        if not stopping.is_set():
            print(_banner(stack, config), flush=True)
            stopping.wait()
    finally:
        print("stopping…", flush=True)
        stack.stop()
        print("stopped.", flush=True)


def _banner(stack: LocalStack, config: LocalConfig) -> str:
    url = stack.url
    return (
        "\nBazaar local stack is up (127.0.0.1 only)\n"
        f"  API               {url}   (try {url}/health)\n"
        f"  OpenAPI           {url}/v1/openapi.json   (Swagger UI: {url}/v1/docs)\n"
        f"  Schedules         {url}/_local/schedules   (fire one: curl -X POST {url}/_local/schedules/<name>/run)\n"
        f"  Topology          {url}/_local/topology\n"
        f"  Executions        {url}/_local/executions   (Step Functions, with their histories)\n"
        f"  AWS endpoint      {stack.aws_endpoint}   (AWS_ENDPOINT_URL for boto3 / the aws CLI)\n"
        f"  moto dashboard    {stack.aws_endpoint}/moto-api/\n"
        + (f"  AWS faults        {stack.aws_faults.endpoint}/_faults   (the functions' AWS endpoint; "
           "docs/local-twin.md, 'AWS faults')\n" if stack.aws_faults else "")
        + "".join(f"  {s.name + ' sandbox':<17} {s.url}   (control API: {s.url}/_sandbox)\n"
                  for s in stack.sandboxes)
        + _egress_line(stack)
        + "".join(f"  {'WebSocket ' + name:<17} {api.url}?{api.api.token_query_parameter}=<access token>   "
                  f"(management: {stack.websocket_endpoint(name)})\n"
                  for name, api in stack.websocket_apis.items())
        + f"  Accounts          {config.state_dir / 'local-accounts.json'}\n"
        + "".join(f"    {role:<9} {a['email']}  {a['password']}"
                  + (f"  TOTP secret {a['totp_secret']}" if a.get("totp_secret") else "") + "\n"
                  for role, a in stack.accounts.items())
        + "Press Ctrl-C to stop.\n"
    )


def _egress_line(stack: LocalStack) -> str:
    if stack.egress is None:
        return ""
    return (f"  NAT gateway twin  {stack.egress.url}   (fixed-egress functions leave from "
            f"{stack.egress.egress_address}: the address to allowlist, locally)\n")


if __name__ == "__main__":
    main()
