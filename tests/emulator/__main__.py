"""Command line: ``python -m tests.emulator --port PORT`` from the repository root."""

import argparse
import signal
import sys

from .faults import Faults
from .server import make_server
from .state import Config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.emulator', description='Local Alibaba Cloud RAM/ECS/STS/metadata emulator.')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0, help='0 picks a free port')
    parser.add_argument('--access-key-id', default='LTAIEmulatorAdminKey')
    parser.add_argument('--access-key-secret', default='EmulatorAdminSecretDoNotUse0001')
    parser.add_argument('--account-id', default='1234567890123456')
    parser.add_argument('--instances', type=int, default=3, help='VPC instances seeded per region')
    parser.add_argument('--classic-instances', type=int, default=1, help='classic instances seeded in the first region')
    parser.add_argument('--regions', default='cn-hangzhou', help='comma separated region ids')
    parser.add_argument('--throttle-rate', type=float, default=0.0)
    parser.add_argument('--unavailable-rate', type=float, default=0.0)
    parser.add_argument('--latency-ms', type=int, default=0)
    parser.add_argument('--role-visibility-delay', type=float, default=0.0, metavar='SECONDS')
    parser.add_argument('--metadata-unavailable-rate', type=float, default=0.0)
    parser.add_argument('--hardened-only', action='store_true', help='metadata service requires a token')
    parser.add_argument('--fault-seed', type=int, default=None)
    parser.add_argument('--state-file', default=None)
    parser.add_argument('--quiet', action='store_true')
    return parser.parse_args(argv)


def _stop(_signum, _frame):
    raise KeyboardInterrupt


def main(argv=None):
    args = parse_args(argv)
    regions = [r.strip() for r in args.regions.split(',') if r.strip()] or ['cn-hangzhou']
    config = Config(account_id=args.account_id, access_key_id=args.access_key_id, access_key_secret=args.access_key_secret,
                    regions=regions, instances=args.instances, classic_instances=args.classic_instances,
                    hardened_only=args.hardened_only, state_file=args.state_file)
    faults = Faults(throttle_rate=args.throttle_rate, unavailable_rate=args.unavailable_rate, latency_ms=args.latency_ms,
                    role_visibility_delay=args.role_visibility_delay, metadata_unavailable_rate=args.metadata_unavailable_rate,
                    seed=args.fault_seed)
    server = make_server(config, faults, host=args.host, port=args.port, quiet=args.quiet)
    signal.signal(signal.SIGTERM, _stop)
    print('listening on http://%s:%d' % (args.host, server.server_address[1]), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
