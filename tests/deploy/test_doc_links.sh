#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_doc_links.sh - every relative link of the README and docs/ leads
# somewhere.
#
# Each [text](target) outside code, in README.md, docs/*.md and the other
# Markdown files they name, must name a file or directory that exists,
# relative to the file it is in; a #anchor must be a heading of the file
# it points into (as GitHub makes anchors: lower case, punctuation
# dropped, spaces as hyphens). Links to other sites are not followed.
# Exit codes: 0 pass, 77 skip, other fail.
set -u
cd "$(dirname "$0")/../.." || exit 1

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }

command -v python3 >/dev/null ||
	{ log "SKIP: no python3 (apt-get install python3)"; exit 77; }

python3 - README.md docs/*.md <<'EOF'
import os, re, sys

def strip_code(text):
    """The text without fenced blocks, indented blocks and code spans."""
    out, fence = [], None
    for line in text.split('\n'):
        m = re.match(r'^\s*(```|~~~)', line)
        if m:
            fence = None if fence else m.group(1)
            out.append('')
            continue
        if fence or line.startswith('    ') or line.startswith('\t'):
            out.append('')
            continue
        out.append(re.sub(r'`[^`]*`', '', line))
    return out

def slug(heading):
    h = heading.strip().lower()
    h = re.sub(r'[^\w\- ]', '', h)
    return h.replace(' ', '-')

def anchors(path):
    found, fence = set(), False
    for line in open(path, encoding='utf-8'):
        if re.match(r'^\s*(```|~~~)', line):
            fence = not fence
        m = re.match(r'^#{1,6} (.*)', line)
        if m and not fence:
            a = slug(m.group(1))
            n = 1
            while a in found:		# GitHub numbers repeated headings
                a = '%s-%d' % (slug(m.group(1)), n)
                n += 1
            found.add(a)
    return found

bad = checked = 0
todo, seen = list(sys.argv[1:]), set()
while todo:
    path = os.path.normpath(todo.pop(0))
    if path in seen:
        continue
    seen.add(path)
    lines = strip_code(open(path, encoding='utf-8').read())
    for no, line in enumerate(lines, 1):
        for m in re.finditer(r'\]\(([^)\s]+)\)', line):
            target = m.group(1)
            if re.match(r'^[a-z]+:', target):
                continue
            checked += 1
            file, _, anchor = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
            if not os.path.exists(dest):
                print('%s:%d: %s: no such file' % (path, no, target))
                bad += 1
                continue
            if dest.endswith('.md'):
                todo.append(dest)
                if anchor and anchor not in anchors(dest):
                    print('%s:%d: %s: no heading #%s in %s' % (path, no, target, anchor, dest))
                    bad += 1
print('%d links checked in %d files, %d broken' % (checked, len(seen), bad))
sys.exit(1 if bad else 0)
EOF
rc=$?
[ $rc -eq 0 ] && log PASS || log FAIL
exit $rc
