#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_doc_examples.sh - the documentation's runnable examples run.
#
# A block fenced as ```sh in README.md or docs/*.md is runnable: it needs
# no root, no agent and no kernel state, only the built ./tollgate (first
# on PATH) and the repository's files. The blocks of one file run in
# order, in one scratch directory of their own where deploy/ and tests/
# are the repository's, so an example may write files (a ledger) and a
# later one read them. A block is either
#   - a script: it runs with bash -e -o pipefail and must exit 0; or
#   - a transcript, when a line begins with "$ ": each "$ command" must
#     exit 0 and print on standard output exactly the lines up to the
#     next "$ " or the block's end.
# Examples that need a host, an agent or a database are fenced otherwise
# (or indented), and are not run. Exit codes: 0 pass, 77 skip, other fail.
set -u
cd "$(dirname "$0")/../.." || exit 1

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }

command -v python3 >/dev/null ||
	{ log "SKIP: no python3 (apt-get install python3)"; exit 77; }
[ -x ./tollgate ] || { log "FAIL: no ./tollgate: run 'make' first"; exit 1; }

python3 - README.md docs/*.md <<'EOF'
import os, re, shutil, subprocess, sys, tempfile

repo = os.getcwd()
env = dict(os.environ, PATH=repo + os.pathsep + os.environ.get('PATH', ''),
           LC_ALL='C.UTF-8')
env.pop('TOLLGATE_SHIP', None)

def blocks(path):
    """(line, text) of each ```sh block."""
    out, cur, start = [], None, 0
    for no, line in enumerate(open(path, encoding='utf-8'), 1):
        if cur is None:
            if re.match(r'^```sh\s*$', line):
                cur, start = [], no + 1
        elif line.startswith('```'):
            out.append((start, ''.join(cur)))
            cur = None
        else:
            cur.append(line)
    return out

def run(cmd, cwd):
    return subprocess.run(['bash', '-e', '-o', 'pipefail', '-c', cmd], cwd=cwd,
                          env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)

failed = total = 0
for path in sys.argv[1:]:
    todo = blocks(path)
    if not todo:
        continue
    scratch = tempfile.mkdtemp(prefix='tollgate-doc.')
    for d in ('deploy', 'tests'):
        os.symlink(os.path.join(repo, d), os.path.join(scratch, d))
    try:
        for line, text in todo:
            total += 1
            where = '%s:%d' % (path, line)
            lines = text.rstrip('\n').split('\n')
            if not any(l.startswith('$ ') for l in lines):
                r = run(text, scratch)
                if r.returncode:
                    print('%s: exit %d\n%s%s' % (where, r.returncode, r.stdout, r.stderr))
                    failed += 1
                continue
            i = 0
            while i < len(lines):
                if not lines[i].startswith('$ '):
                    print('%s: output before the first "$ " line' % where)
                    failed += 1
                    break
                cmd = lines[i][2:]
                i += 1
                want = []
                while i < len(lines) and not lines[i].startswith('$ '):
                    want.append(lines[i])
                    i += 1
                r = run(cmd, scratch)
                got = r.stdout.rstrip('\n').split('\n') if r.stdout else []
                if r.returncode or got != want:
                    print('%s: $ %s: exit %d%s' % (where, cmd, r.returncode,
                          '' if got == want else ', other output:'))
                    if got != want:
                        for l in got: print('  > ' + l)
                    sys.stdout.write(r.stderr)
                    failed += 1
    finally:
        shutil.rmtree(scratch)
print('%d runnable examples, %d failed' % (total, failed))
sys.exit(1 if failed or not total else 0)
EOF
rc=$?
[ $rc -eq 0 ] && log PASS || log FAIL
exit $rc
