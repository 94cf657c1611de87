#!/usr/bin/env python3
"""Drives the vendors' own SDKs against a running Plenum server.

Used by crates/plenum/tests/api/vendor_sdks.rs: the Rust test starts a server with a known
record, writes a plan of SDK calls as JSON on standard input, and asserts on what the SDKs
made of the answers, printed as JSON on standard output (one result per case, in order).

    {"base_url": "http://127.0.0.1:PORT", "cases": [{"sdk": "telnyx", ...}, ...]}

The SDKs are used exactly as an integration uses them; only the server's address changes.
The Huawei SDK always fetches its token over HTTPS (its MeetingCredentials hard-code the
scheme), so for it this script puts a TLS-terminating proxy with a throwaway self-signed
certificate in front of the plain-HTTP server, as a reverse proxy does in a deployment, and
tells the SDK not to verify the certificate.
"""

import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.parse


def telnyx_case(case, base_url):
    import telnyx

    client = telnyx.Telnyx(api_key=case["api_key"], base_url=base_url + "/v2", max_retries=0)
    op = case["op"]
    try:
        if op == "list":
            kwargs = {k: case[k] for k in ("filter", "page_number", "page_size") if k in case}
            page = client.room_recordings.list(**kwargs)
            return {
                "ids": [r.id for r in page.data],
                "meta": page.meta.model_dump() if page.meta else None,
                "first": page.data[0].model_dump(mode="json") if page.data else None,
            }
        if op == "list_all":
            kwargs = {k: case[k] for k in ("filter", "page_size") if k in case}
            return {"ids": [r.id for r in client.room_recordings.list(**kwargs)]}
        if op == "retrieve":
            return client.room_recordings.retrieve(case["id"]).model_dump(mode="json")
        if op == "delete_bulk":
            answer = client.room_recordings.delete_bulk(filter=case.get("filter", {}))
            return {"deleted": answer.data.room_recordings}
        raise ValueError(f"unknown telnyx op {op}")
    except telnyx.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        errors = body.get("errors") or [{}]
        return {"error": {"status": e.status_code, "code": errors[0].get("code"), "class": type(e).__name__}}


def rocketchat_case(case, base_url):
    from rocketchat_API.rocketchat import RocketChat
    from rocketchat_API.APIExceptions.RocketExceptions import (
        RocketApiException,
        RocketAuthenticationException,
        RocketBadStatusCodeException,
    )

    try:
        if "auth_token" in case:
            rc = RocketChat(auth_token=case["auth_token"], user_id=case["user_id"], server_url=base_url)
        else:
            rc = RocketChat(case["username"], case["password"], server_url=base_url)
    except RocketAuthenticationException:
        return {"error": {"login": "refused"}}
    if case["op"] == "login":
        return {"user_id": rc.headers.get("X-User-Id"), "has_token": bool(rc.headers.get("X-Auth-Token"))}
    try:
        return rc.call_api_get("video-conference.list", **case.get("params", {}))
    except RocketApiException as e:
        return {"error": {"status": e.status_code, "body": e.response_json}}
    except RocketBadStatusCodeException as e:
        return {"error": {"status": e.status_code, "body": e.response_json}}


class TlsProxy:
    """Terminates TLS on 127.0.0.1:<port> and forwards each connection to the server."""

    def __init__(self, target_host, target_port, workdir):
        cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
            check=True, capture_output=True,
        )
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            raw, _ = self.listener.accept()
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        try:
            client = self.context.wrap_socket(raw, server_side=True)
            upstream = socket.create_connection(self.target)
        except (OSError, ssl.SSLError):
            raw.close()
            return

        def pipe(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except (OSError, ssl.SSLError):
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)


def huawei_case(case, endpoint, clients):
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkmeeting.v1 import MeetingClient, SearchAttendanceRecordsOfHisMeetingRequest
    from huaweicloudsdkmeeting.v1.meeting_credentials import AuthTypeEnum, MeetingCredentials

    key = json.dumps({k: case.get(k) for k in ("auth", "username", "password", "app_id", "app_key")})
    if key not in clients:
        config = HttpConfig.get_default_config()
        config.ignore_ssl_verification = True
        config.retry_times = 0
        if case["auth"] == "account":
            credentials = MeetingCredentials(case["username"], case["password"])
        else:
            credentials = (MeetingCredentials()
                           .with_auth_type_enum(AuthTypeEnum.APP_ID)
                           .with_app_id(case["app_id"])
                           .with_app_key(case["app_key"]))
        clients[key] = (MeetingClient.new_builder().with_http_config(config)
                        .with_credentials(credentials).with_endpoints([endpoint]).build())
    client = clients[key]
    try:
        request = SearchAttendanceRecordsOfHisMeetingRequest(**case["params"])
        answer = client.search_attendance_records_of_his_meeting(request)
        return {
            "offset": answer.offset,
            "limit": answer.limit,
            "count": answer.count,
            "data": [
                {"displayName": d.display_name, "callNumber": d.call_number, "deviceType": d.device_type,
                 "joinTime": d.join_time, "leftTime": d.left_time, "mediaType": d.media_type,
                 "deptName": d.dept_name}
                for d in (answer.data or [])
            ],
        }
    except ClientRequestException as e:
        return {"error": {"status": e.status_code, "error_code": e.error_code, "error_msg": e.error_msg}}


def main():
    plan = json.load(sys.stdin)
    base_url = plan["base_url"].rstrip("/")
    parsed = urllib.parse.urlparse(base_url)
    results, huawei_clients, proxy = [], {}, None
    with tempfile.TemporaryDirectory() as workdir:
        for case in plan["cases"]:
            sdk = case["sdk"]
            if sdk == "telnyx":
                results.append(telnyx_case(case, base_url))
            elif sdk == "rocketchat":
                results.append(rocketchat_case(case, base_url))
            elif sdk == "huawei":
                if proxy is None:
                    proxy = TlsProxy(parsed.hostname, parsed.port, workdir)
                results.append(huawei_case(case, f"https://127.0.0.1:{proxy.port}", huawei_clients))
            else:
                raise ValueError(f"unknown sdk {sdk}")
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
