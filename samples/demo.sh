#!/usr/bin/env bash
# The whole job on the samples. Run through `make demo` (which sets up the venv first).
set -euo pipefail
OUT=demo-output
rm -rf "$OUT"
mkdir -p "$OUT"
# Demo keys live beside the demo workspaces, never inside them (a real key lives in ~/.config/hybrid).
export XDG_CONFIG_HOME="$PWD/$OUT/keys"
POLL="$OUT/mainufer"
BUDGET="$OUT/buergerhaushalt"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A poll: set up, check, print German, English large-print and addressed ballots"
hybrid -C "$POLL" init --example poll
hybrid -C "$POLL" check
hybrid -C "$POLL" print --count 25 --lang de
hybrid -C "$POLL" print --count 10 --lang en --large-print
# Addressed: per person a cover letter (address in the window of a C4 envelope), then the ballot.
hybrid -C "$POLL" print --addresses samples/addresses.csv -o "$POLL/out/mailing.pdf"
hybrid -C "$POLL" void 3 --reason undeliverable
hybrid -C "$POLL" print --replace 4

step "2. A participatory budget (two-page ballot)"
hybrid -C "$BUDGET" init --example budget
hybrid -C "$BUDGET" print --count 25

step "3. A budget started from CONSUL's investment export"
hybrid -C "$OUT/from-consul" init --from-consul samples/consul-budget-investments.csv \
  --heading-amount 500000 --voting-style knapsack
hybrid -C "$OUT/from-consul" check

step "4. Previews of the printed ballots"
python -m forms.preview "$POLL"/out/ballots-de-000001.pdf --pages 1-2 -o "$OUT/preview-poll-de.png"
python -m forms.preview "$BUDGET"/out/ballots-de-000001.pdf --pages 1-3 -o "$OUT/preview-budget-de.png"
python -m forms.preview "$POLL"/out/mailing.pdf --pages 1-2 -o "$OUT/preview-cover-letter-de.png"
python -m forms.preview "$POLL"/out/ballots-en-large-000026.pdf --pages 1-2 -o "$OUT/preview-large-print-en.png"

step "4b. Returned ballots: a simulated tray of 60 filled, scanned ballots (a test deck), read back"
hybrid -C "$POLL" simulate --count 60 --degrade moderate --seed 1 -o "$OUT/deck"
RECEIVED=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["received"])' "$OUT/deck/truth.json")
# Exit code 1 means "done, some ballots wait for a person" (hybrid review list).
XDG_CONFIG_HOME="$OUT/deck/config" hybrid -C "$OUT/deck/workspace" scan "$OUT/deck/scans" \
  --received "$RECEIVED" --batch tray-1 || [ $? -eq 1 ]
python -m deck.check "$OUT/deck"
XDG_CONFIG_HOME="$OUT/deck/config" hybrid -C "$OUT/deck/workspace" review list || [ $? -eq 1 ]

step "5. Votes by SMS for ballots that did not come back by post: the Twilio webhook on loopback"
# Twelve more ballots for the deck's workspace; their holders text instead of posting.
DECK_WS="$OUT/deck/workspace"
deck() { XDG_CONFIG_HOME="$OUT/deck/config" hybrid -C "$DECK_WS" "$@"; }
deck print --count 10 --lang de
deck print --count 2 --lang en
# The sample poll opens on 3 May 2027; for the demo, voting by phone is open from today on.
sed -i "s/^opens: .*/opens: $(date -u +%Y-%m-%dT00:00:00+00:00)/" "$DECK_WS/process.yaml"
XDG_CONFIG_HOME="$OUT/deck/config" python -m doubles.demo_sender "$DECK_WS" --unused
deck sms

step "5b. The same by the city's own phone (android-sms-gateway): its webhook, replies through its API"
# A stand-in phone on loopback (doubles/gateway_double.py); no message passes a US provider.
XDG_CONFIG_HOME="$OUT/deck/config" python samples/gateway_demo.py "$DECK_WS"

step "6. One count from paper and SMS: merge, the files for CONSUL, the report"
# Exit code 1: done, but some ballots still wait for a person (they are listed, not counted).
deck merge -o "$OUT/results" | tee "$OUT/merge.log" || [ "${PIPESTATUS[0]}" -eq 1 ]
HEAD=$(sed -n 's/^Audit head[^:]*: *//p' "$OUT/merge.log" | tail -1)
ls "$OUT/results" "$OUT/results/consul"
cat "$OUT"/results/consul/*poll-12-recounts.csv   # VORLAEUFIG- while ballots still wait for a person
deck status || [ $? -eq 1 ]

step "7. The audit chain"
deck audit verify --head "$HEAD"
hybrid -C "$POLL" audit verify
hybrid -C "$BUDGET" audit verify

printf '\nDone. Ballots are in %s/*/out/, previews in %s/preview-*.png, merged results in %s/results/\n' "$OUT" "$OUT" "$OUT"
