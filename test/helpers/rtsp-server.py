#!/usr/bin/python3
"""Real RTSP server for tests and benchmarks: GStreamer's gst-rtsp-server on loopback.

Usage: RTSP_AUTH=USER:PASS rtsp-server.py PORT [--auth-env] MOUNT[,MOUNT...]=UDPPORT [...]

Each group of mounts re-serves RTP/H.264 that an ffmpeg feeder sends to UDPPORT on 127.0.0.1.
All mounts of a group share one media (one depay/pay chain), so hundreds of simulated cameras
fanned out from one feed stay cheap for the server.
Prints READY on stdout once it listens; exits on SIGTERM or when stdin closes.
"""
import signal
import os
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

CAPS = "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=96"


def launch_for(udp_port):
    # config-interval=-1 sends SPS/PPS with every IDR so a client joining mid-stream can decode.
    return (
        f'( udpsrc address=127.0.0.1 port={udp_port} caps="{CAPS}" buffer-size=2097152 '
        "! rtph264depay ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )


class FixedKeyFactory(GstRtspServer.RTSPMediaFactory):
    """All URLs served by this factory share one media (the default key is the full URL)."""

    def __init__(self, key):
        super().__init__()
        self._key = key

    def do_gen_key(self, url):
        return self._key


def main():
    Gst.init(None)
    port = sys.argv[1]
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    mounts = server.get_mount_points()
    args = sys.argv[2:]
    permissions = None
    if args and args[0] == "--auth-env":
        # USER:PASS from the environment, so the test password is not in `ps` either
        user, password = os.environ["RTSP_AUTH"].split(":", 1)
        args = args[1:]
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("user", "media.factory.access", True)
        permissions.add_permission_for_role("user", "media.factory.construct", True)
    for arg in args:
        names, udp = arg.split("=", 1)
        factory = FixedKeyFactory(names)
        factory.set_launch(launch_for(udp))
        factory.set_shared(True)
        factory.set_latency(0)
        if permissions is not None:
            factory.set_permissions(permissions)
        for mount in names.split(","):
            mounts.add_factory("/" + mount, factory)
    if server.attach(None) == 0:
        print("ERROR cannot listen on 127.0.0.1:" + port, flush=True)
        sys.exit(2)
    loop = GLib.MainLoop()

    def stop(*_):
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, stop)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, stop)

    def watch_stdin():
        sys.stdin.read()
        GLib.idle_add(stop)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print("READY " + port, flush=True)
    loop.run()


if __name__ == "__main__":
    main()
