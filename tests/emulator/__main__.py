"""Command line: ``python -m tests.emulator --port PORT`` from the repository root.

``eval "$(python -m tests.emulator --print-env --daemon)"`` starts it in the background and sets the
variables the collection and the SDK read (``kill $EMULATOR_PID`` stops it).
"""

import argparse
import os
import shlex
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
    behaviours = parser.add_argument_group('documented behaviours and their switches (see README)')
    behaviours.add_argument('--strict-metadata-options', action='store_true',
                            help='ModifyInstanceMetadataOptions: an omitted HttpTokens falls back to optional')
    behaviours.add_argument('--http-endpoint-optional', action='store_true',
                            help='ModifyInstanceMetadataOptions accepts calls without HttpEndpoint (older emulator behaviour)')
    behaviours.add_argument('--results-without-success', action='store_true',
                            help='Attach/DetachInstanceRamRole results carry Code and Message but no Success')
    behaviours.add_argument('--http-like-instance-codes', action='store_true',
                            help='per-instance failure codes are HTTP-like ("403", "404") instead of the invented Emulator.* names')
    behaviours.add_argument('--per-instance-unknown-ids', action='store_true',
                            help='an unknown id fails per instance unless every id is unknown (older emulator behaviour)')
    behaviours.add_argument('--per-instance-classic-ids', action='store_true',
                            help='a classic id fails per instance unless every id is classic; DescribeInstanceRamRole lists it')
    behaviours.add_argument('--empty-body-rate', type=float, default=0.0, metavar='F',
                            help='share of carried-out Attach/Detach/DescribeInstanceRamRole calls answered 200 with an empty body')
    behaviours.add_argument('--detach-visibility-delay', type=float, default=0.0, metavar='SECONDS',
                            help='a detach stays invisible to DescribeInstanceRamRole and attach this long')
    behaviours.add_argument('--detach-visibility-reads', type=int, default=0, metavar='N',
                            help='a detach stays invisible for the next N DescribeInstanceRamRole reads of the instance')
    behaviours.add_argument('--throttle-storm', type=float, default=None, metavar='SECONDS',
                            help='answer every call (or --throttle-storm-actions) 400 Throttling.User for this long after start')
    behaviours.add_argument('--throttle-storm-calls', type=int, default=None, metavar='N',
                            help='answer the first N calls (or of --throttle-storm-actions) 400 Throttling.User')
    behaviours.add_argument('--throttle-storm-actions', default=None, metavar='A,B', help='actions the storm applies to')
    behaviours.add_argument('--empty-body', action='append', default=[], metavar='ACTION=N',
                            help='the next N carried-out calls of ACTION are answered 200 with an empty body; repeatable')
    behaviours.add_argument('--qps', action='append', default=[], metavar='ACTION=N',
                            help='rate limit of one action in calls per second (token bucket); repeatable')
    parser.add_argument('--fault-seed', type=int, default=None)
    parser.add_argument('--state-file', default=None)
    parser.add_argument('--quiet', action='store_true')
    parser.add_argument('--print-env', action='store_true', help='print shell export lines for the credentials and endpoints')
    parser.add_argument('--port-file', default=None, help='write the port number to this file once listening')
    parser.add_argument('--daemon', action='store_true', help='serve in the background; the foreground process exits after printing')
    args = parser.parse_args(argv)
    try:
        args.qps = action_numbers('--qps', args.qps)
        args.empty_body = action_numbers('--empty-body', args.empty_body, integer=True)
    except ValueError as exc:
        parser.error(str(exc))
    if args.throttle_storm and args.throttle_storm_calls:
        parser.error('--throttle-storm and --throttle-storm-calls exclude each other')
    return args


def action_numbers(flag, items, integer=False):
    """``['Action=N', ...]`` as ``{'Action': N}`` (N > 0); raises ValueError naming ``flag``."""
    numbers = {}
    for item in items:
        action, _sep, text = item.partition('=')
        try:
            number = int(text) if integer else float(text)
        except ValueError:
            number = 0
        if not action.strip() or not number > 0:
            raise ValueError('%s takes ACTION=N with N > 0, not %r' % (flag, item))
        numbers[action.strip()] = number
    return numbers


def behaviour_settings(args):
    """The fault and switch settings the command line asks for (beyond the historical Faults arguments)."""
    storm = None
    if args.throttle_storm or args.throttle_storm_calls:
        actions = [a.strip() for a in args.throttle_storm_actions.split(',') if a.strip()] if args.throttle_storm_actions else None
        storm = {'seconds': args.throttle_storm} if args.throttle_storm else {'calls': args.throttle_storm_calls}
        storm['actions'] = actions
    empty_body = [action for action, count in args.empty_body.items() for _unused in range(count)]
    return dict(strict_metadata_options=args.strict_metadata_options, http_endpoint_required=not args.http_endpoint_optional,
                results_without_success=args.results_without_success,
                instance_codes='http' if args.http_like_instance_codes else 'named',
                unknown_ids='per_instance' if args.per_instance_unknown_ids else 'request',
                classic_ids='per_instance' if args.per_instance_classic_ids else 'request',
                empty_body_actions=empty_body, empty_body_rate=args.empty_body_rate, detach_visibility_delay=args.detach_visibility_delay,
                detach_visibility_reads=args.detach_visibility_reads, throttle_storm=storm, qps=args.qps)


def environment(args, url, region):
    """The variables a client needs to use this emulator, as (name, value) pairs."""
    return [('ALIBABA_CLOUD_ACCESS_KEY_ID', args.access_key_id), ('ALIBABA_CLOUD_ACCESS_KEY_SECRET', args.access_key_secret),
            ('ALIBABA_CLOUD_REGION_ID', region), ('ALIBABA_CLOUD_RAM_ENDPOINT', url), ('ALIBABA_CLOUD_ECS_ENDPOINT', url),
            ('ALIBABA_CLOUD_STS_ENDPOINT', url), ('ALIBABA_CLOUD_METADATA_ENDPOINT', url)]


def announce(args, url, region, pid=None):
    """What is printed once listening: ``listening on URL`` (a shell comment with --print-env) and the exports."""
    lines = [('# ' if args.print_env else '') + 'listening on ' + url]
    if args.print_env:
        lines += ['export %s=%s' % (name, shlex.quote(value)) for name, value in environment(args, url, region)]
    if pid is not None:
        lines.append('export EMULATOR_PID=%d' % pid if args.print_env else 'pid %d' % pid)
    print('\n'.join(lines), flush=True)


def write_port_file(path, port):
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as handle:
        handle.write('%d\n' % port)
    os.replace(tmp, path)


def detach():
    """Fork: the parent returns the child's pid, the child (new session, no terminal) returns None."""
    pid = os.fork()
    if pid:
        return pid
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return None


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
                    seed=args.fault_seed, **behaviour_settings(args))
    server = make_server(config, faults, host=args.host, port=args.port, quiet=args.quiet)
    port = server.server_address[1]
    url = 'http://%s:%d' % (args.host, port)
    if args.port_file:
        write_port_file(args.port_file, port)
    if args.daemon:
        child = detach()
        if child:
            announce(args, url, regions[0], pid=child)
            os._exit(0)   # the child owns the listening socket now
    else:
        announce(args, url, regions[0])
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
