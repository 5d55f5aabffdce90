# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A workload's health check, as Docker's: two systemd units, a runner script in the bundle, a status file.

This is a private module_util: its API may change without notice.

A workload with a health check has, beside its service, a timer ``anatomy-workload-NAME-health.timer`` that
starts the oneshot ``anatomy-workload-NAME-health.service`` every ``interval``. Both are PartOf= the workload's
service (stopped and restarted with it); the workload's service Wants= the timer (started with it). The oneshot
runs the runner script ``BUNDLE/healthcheck``, which runs the test inside the container (``crun exec``), killed
after ``timeout``, and keeps the status in ``/run/anatomy/health/NAME.json``::

    {"status": "starting" | "healthy" | "unhealthy", "failing_streak": N,
     "log": [{"start": RFC 3339, "end": RFC 3339, "exit_code": N, "output": "at most 4 KiB"}, ... the last 5]}

The transitions are Docker's (moby daemon/health.go, handleProbeResult): a success makes it healthy and resets
the streak; a failure adds to the streak, except while the status is still ``starting`` within
``start_period`` of the start; ``retries`` failures in a row make it unhealthy. Each start of the workload (its
service's ExecStartPre=) resets the status to ``starting`` and the streak to 0, keeping the log. A check that
times out counts as a failure with exit code -1, as Docker's. Nothing restarts an unhealthy workload.
"""

from __future__ import annotations

import json
import os

from ansible_collections.anatomy.containers.plugins.module_utils._resource import OWNER_MARK

#: Where the runner keeps the status files (and their working state, in NAME.state/).
HEALTH_DIR = '/run/anatomy/health'
#: The runner script's name inside the bundle directory.
RUNNER = 'healthcheck'
HEALTH_MARK = '# %s workload health check: ' % OWNER_MARK
STATUSES = ('starting', 'healthy', 'unhealthy')
#: Docker's maxLogEntries and maxOutputLen.
LOG_ENTRIES = 5
OUTPUT_LIMIT = 4096


def health_units(name: str) -> tuple:
    """The timer's and the oneshot service's unit names of a workload's health check."""
    return 'anatomy-workload-%s-health.timer' % name, 'anatomy-workload-%s-health.service' % name


def runner_path(bundle: str) -> str:
    return os.path.join(bundle, RUNNER)


def status_path(name: str, directory: str = HEALTH_DIR) -> str:
    return os.path.join(directory, name + '.json')


def render_units(item: dict, main_unit: str, quote) -> dict:
    """{unit name: text} of the health check of a workload definition; {} without a health check.

    ``quote`` quotes one word of ExecStart= (the services module's quote_arg).
    """
    check = item.get('healthcheck')
    if not check:
        return {}
    name = item['name']
    timer, oneshot = health_units(name)
    mark = HEALTH_MARK + name
    tie = ['PartOf=' + main_unit, 'After=' + main_unit]
    argv = ['/bin/sh', runner_path(item['bundle']), 'check', name, str(check['retries']), str(check['start_period']),
            str(check['timeout'])] + list(check['test'])
    timer_lines = [
        mark,
        '[Unit]',
        'Description=%s workload %s health check every %ds' % (OWNER_MARK, name, check['interval']),
    ] + tie + [
        '',
        '[Timer]',
        # The first check one interval after the start, the next one interval after the end of the last, as Docker.
        'OnActiveSec=%d' % check['interval'],
        'OnUnitInactiveSec=%d' % check['interval'],
        # The default accuracy (1 minute) would stretch short intervals.
        'AccuracySec=100ms',
        'Unit=' + oneshot,
    ]
    service_lines = [
        mark,
        '[Unit]',
        'Description=%s workload %s health check' % (OWNER_MARK, name),
    ] + tie + [
        '',
        '[Service]',
        'Type=oneshot',
        'ExecStart=' + ' '.join(quote(word) for word in argv),
        # The runner kills the test after its timeout; this bounds the runner itself.
        'TimeoutStartSec=%d' % (check['timeout'] + 30),
        # The runner's results (failures, changes of status) are notices; systemd's "Starting/Finished" lines of
        # every check are not logged.
        'SyslogLevel=notice',
        'LogLevelMax=notice',
        'SyslogIdentifier=%s-health' % name,
    ]
    return {timer: '\n'.join(timer_lines) + '\n', oneshot: '\n'.join(service_lines) + '\n'}


def read_health(name: str, directory: str = HEALTH_DIR):
    """The health status of a workload, as the runner keeps it, or None (no health check, or not run since boot)."""
    try:
        with open(status_path(name, directory), 'rb') as handle:
            # Output is cut at 4 KiB, maybe inside a character, and is whatever bytes the test wrote.
            status = json.loads(handle.read().decode('utf-8', 'replace'))
    except (OSError, ValueError):
        return None
    if not isinstance(status, dict) or status.get('status') not in STATUSES:
        return None
    return status


# The runner: POSIX sh and the host's coreutils, sed and grep, run by the oneshot service (check) and by the
# workload's service before each start (reset). Its working state lives in DIR/NAME.state/ (status, streak, the
# start time, the last log entries, each already JSON); DIR/NAME.json is written from it atomically.
RUNNER_SCRIPT = r'''#!/bin/sh
# anatomy.containers: the health check runner of a workload, written by anatomy.containers.workload_service.
# Usage: healthcheck reset NAME
#        healthcheck check NAME RETRIES START_PERIOD TIMEOUT TEST...
set -u
LC_ALL=C
export LC_ALL
# The output of checks may tell what only root should read, as `docker inspect` needs root.
umask 077
CRUN=${ANATOMY_HEALTH_CRUN:-/usr/bin/crun}
CRUN_ROOT=/run/anatomy/crun
DIR=${ANATOMY_HEALTH_DIR:-/run/anatomy/health}
LOG_ENTRIES=5
OUTPUT_LIMIT=4096

mode=$1
name=$2
state=$DIR/$name.state
mkdir -p "$state" || exit 1

stamp() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }

# stdin as the body of a JSON string: at most OUTPUT_LIMIT bytes, other control characters than tab and newline
# dropped, backslashes and quotes escaped, each line ended by \n.
json_text() {
    head -c "$OUTPUT_LIMIT" | tr -d '\000-\010\013-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' |
        awk '{ printf "%s\\n", $0 }'
}

write_status() {
    {
        printf '{"status": "%s", "failing_streak": %d, "log": [' "$1" "$2"
        sep=
        i=1
        while [ "$i" -le "$LOG_ENTRIES" ]; do
            if [ -f "$state/log.$i" ]; then
                printf '%s' "$sep"
                cat "$state/log.$i"
                sep=', '
            fi
            i=$((i + 1))
        done
        printf ']}\n'
    } > "$DIR/$name.json.tmp" && mv -f "$DIR/$name.json.tmp" "$DIR/$name.json"
}

append_log() {
    last=0
    i=1
    while [ "$i" -le "$LOG_ENTRIES" ]; do
        [ -f "$state/log.$i" ] && last=$i
        i=$((i + 1))
    done
    if [ "$last" -ge "$LOG_ENTRIES" ]; then
        i=2
        while [ "$i" -le "$LOG_ENTRIES" ]; do
            mv -f "$state/log.$i" "$state/log.$((i - 1))"
            i=$((i + 1))
        done
        last=$((LOG_ENTRIES - 1))
    fi
    mv -f "$1" "$state/log.$((last + 1))"
}

reset() {
    date +%s > "$state/since.tmp" && mv -f "$state/since.tmp" "$state/since"
    echo starting > "$state/status"
    echo 0 > "$state/streak"
    write_status starting 0
}

case $mode in
reset)
    reset
    exit 0
    ;;
check)
    ;;
*)
    echo "usage: $0 reset NAME | check NAME RETRIES START_PERIOD TIMEOUT TEST..." >&2
    exit 2
    ;;
esac

retries=$3
start_period=$4
timeout=$5
shift 5

# Only a running container is checked (not one that is stopping or restarting), as Docker's.
"$CRUN" --root "$CRUN_ROOT" state "$name" 2>/dev/null | grep -q '"status" *: *"running"' || exit 0
[ -s "$state/since" ] || reset
since=$(cat "$state/since")
status=$(cat "$state/status" 2>/dev/null || echo starting)
streak=$(cat "$state/streak" 2>/dev/null || echo 0)

start=$(stamp)
began=$(date +%s)
timeout -s KILL "$timeout" "$CRUN" --root "$CRUN_ROOT" exec "$name" "$@" < /dev/null > "$state/output" 2>&1
code=$?
end=$(stamp)
if [ "$code" -eq 137 ] && [ $(($(date +%s) - began)) -ge "$timeout" ]; then
    # Killed by the timeout: Docker's exit code and message.
    code=-1
    printf 'Health check exceeded timeout (%ds)\n' "$timeout" > "$state/output"
fi

# A restart of the workload while the test ran: this result belongs to the last run.
[ "$(cat "$state/since" 2>/dev/null)" = "$since" ] || exit 0

was=$status
if [ "$code" -eq 0 ]; then
    streak=0
    status=healthy
elif [ "$status" != starting ] || [ $((began - since)) -ge "$start_period" ]; then
    streak=$((streak + 1))
    [ "$streak" -ge "$retries" ] && status=unhealthy
fi

{
    printf '{"start": "%s", "end": "%s", "exit_code": %d, "output": "' "$start" "$end" "$code"
    json_text < "$state/output"
    printf '"}'
} > "$state/entry"
append_log "$state/entry"
echo "$status" > "$state/status"
echo "$streak" > "$state/streak"
write_status "$status" "$streak"

if [ "$code" -ne 0 ]; then
    printf '<5>check failed with exit code %d (%d in a row): %s\n' "$code" "$streak" \
        "$(head -n 1 "$state/output" | tr -d '\000-\037' | cut -c1-200)"
fi
rm -f "$state/output"
if [ "$status" != "$was" ]; then
    [ "$status" = unhealthy ] && level=4 || level=5
    printf '<%d>%s is %s\n' "$level" "$name" "$status"
fi
exit 0
'''
