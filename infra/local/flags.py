"""The feature flags' local twin. moto keeps AppConfig's control plane (applications,
configuration profiles, hosted configuration versions) but serves neither environments,
deployments nor the AppConfig Data API functions read from; so the twin creates the same
application, profile and hosted version in moto at start, and serves AppConfig Data's two calls
(StartConfigurationSession, GetLatestConfiguration) on a loopback port, answering with the
profile's latest hosted version in moto. Functions that read flags get that port as their
AWS_ENDPOINT_URL_APPCONFIGDATA (the others get nowhere), so they run the same Powertools
AppConfigStore as in the cloud. Every hosted version is deployed at once here: change a flag
locally with `create_hosted_configuration_version` against moto, as an operator would in
AppConfig (without the deployment step)."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from infra.description.model import Service
from infra.local.loopback import LoopbackServer

PROFILE_TYPE = "AWS.Freeform"
FLAGS_TAG = "bazaar:feature-flags"


@dataclass(frozen=True)
class LocalFlags:
    application_id: str
    environment: str
    profile_id: str

    def identifiers(self) -> tuple[str, str, str]:
        return self.application_id, self.environment, self.profile_id


def provision_flags(service: Service, appconfig, stage: str) -> LocalFlags | None:
    flags = service.feature_flags
    if flags is None:
        return None
    application = appconfig.create_application(Name=f"{flags.application}-{stage}",
                                               Tags={FLAGS_TAG: flags.application})
    profile = appconfig.create_configuration_profile(
        ApplicationId=application["Id"], Name=flags.profile, LocationUri="hosted", Type=PROFILE_TYPE,
        Tags={FLAGS_TAG: flags.application},
    )
    appconfig.create_hosted_configuration_version(
        ApplicationId=application["Id"], ConfigurationProfileId=profile["Id"],
        Content=json.dumps(flags.document, sort_keys=True).encode(), ContentType="application/json",
    )
    return LocalFlags(application["Id"], stage, profile["Id"])


class AppConfigDataTwin:
    """AppConfig Data on a loopback port, serving `flags`' profile from moto's AppConfig."""

    def __init__(self, flags: LocalFlags, appconfig, port: int = 0, poll_interval_seconds: int = 15):
        self.flags, self._appconfig, self._poll = flags, appconfig, poll_interval_seconds
        self._latest = 0
        self._lock = threading.Lock()
        self.server = LoopbackServer(_handler(self), port=port, name="appconfigdata")

    @property
    def endpoint(self) -> str:
        return self.server.url

    def start(self) -> AppConfigDataTwin:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def latest(self) -> tuple[int, bytes, str]:
        """(version number, content, content type) of the profile's newest hosted version: the
        versions are numbered 1, 2, ... and moto lists none, so ask for the next until it is missing."""
        with self._lock:
            version = max(self._latest, 1)
            found = None
            while True:
                try:
                    found = self._appconfig.get_hosted_configuration_version(
                        ApplicationId=self.flags.application_id, ConfigurationProfileId=self.flags.profile_id,
                        VersionNumber=version)
                except self._appconfig.exceptions.ResourceNotFoundException:
                    break
                self._latest, version = version, version + 1
            if found is None:
                found = self._appconfig.get_hosted_configuration_version(
                    ApplicationId=self.flags.application_id, ConfigurationProfileId=self.flags.profile_id,
                    VersionNumber=self._latest)
            return self._latest, found["Content"].read(), found.get("ContentType") or "application/json"

    def document(self) -> dict:
        return json.loads(self.latest()[1])

    def matches(self, application: str, environment: str, profile: str) -> bool:
        return (application, environment, profile) == self.flags.identifiers()

    @property
    def poll_interval_seconds(self) -> int:
        return self._poll


def _token(version: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"seen": version}).encode()).decode()


def _seen(token: str) -> int | None:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["seen"])
    except (ValueError, KeyError, TypeError):
        return None


def _handler(twin: AppConfigDataTwin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # the stack logs what matters
            pass

        def _error(self, status: int, kind: str, message: str) -> None:
            body = json.dumps({"Message": message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-ErrorType", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            if urlparse(self.path).path != "/configurationsessions":
                return self._error(404, "ResourceNotFoundException", "no such resource")
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._error(400, "BadRequestException", "the body is not JSON")
            named = (request.get("ApplicationIdentifier"), request.get("EnvironmentIdentifier"),
                     request.get("ConfigurationProfileIdentifier"))
            if not twin.matches(*named):
                return self._error(404, "ResourceNotFoundException", f"no configuration {named}")
            body = json.dumps({"InitialConfigurationToken": _token(0)}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != "/configuration":
                return self._error(404, "ResourceNotFoundException", "no such resource")
            seen = _seen((parse_qs(url.query).get("configuration_token") or [""])[0])
            if seen is None:
                return self._error(400, "BadRequestException", "the configuration token is not valid")
            version, content, content_type = twin.latest()
            # As AppConfig does: an empty body when the caller already has the latest version.
            body = b"" if version == seen else content
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Next-Poll-Configuration-Token", _token(version))
            self.send_header("Next-Poll-Interval-In-Seconds", str(twin.poll_interval_seconds))
            if body:
                self.send_header("Version-Label", str(version))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
