#!/usr/bin/env bash
# Runs a command that must fail cleanly: exit status 1 (not a crash), exactly
# one line on stderr, starting "mpc-run: error:" and containing $1.
#   expect_cli_error.sh SUBSTRING COMMAND ARGS...
set -u
want="$1"; shift
err="$("$@" 2>&1 >/dev/null)"
rc=$?
if [[ $rc -ne 1 ]]; then echo "expected exit 1, got $rc; stderr: $err"; exit 1; fi
if [[ $(printf '%s\n' "$err" | wc -l) -ne 1 ]]; then echo "expected one line on stderr, got: $err"; exit 1; fi
if [[ "$err" != "mpc-run: error:"* ]]; then echo "stderr does not start with 'mpc-run: error:': $err"; exit 1; fi
if [[ "$err" != *"$want"* ]]; then echo "stderr lacks '$want': $err"; exit 1; fi
echo "ok: $err"
