#!/bin/bash
# SPDX-License-Identifier: MIT
# lhcodec encode/decode end to end on synthetic streams: two VMs, one store, byte-exact, stats JSON.
set -euo pipefail
dir=$1
rm -rf "$dir" && mkdir -p "$dir/out"
"$SYNTHGEN" --vm 1 --pages 3000 --random 0.02 "$dir/vm1.mig"
"$SYNTHGEN" --vm 2 --pages 3000 --random 0.02 "$dir/vm2.mig"
head -c 100000 /dev/urandom > "$dir/junk.bin"
"$LHCODEC" encode --store-mb 64 --stats "$dir/vm1.mig" "$dir/vm2.mig" "$dir/junk.bin" "$dir/all.lhw" > "$dir/enc.json"
"$LHCODEC" decode --stats "$dir/all.lhw" "$dir/out" > "$dir/dec.json"
for f in vm1.mig vm2.mig junk.bin; do cmp "$dir/$f" "$dir/out/$f"; done
python3 - "$dir/enc.json" "$dir/dec.json" <<'PY'
import json, sys
enc = json.load(open(sys.argv[1])); dec = json.load(open(sys.argv[2]))
for k in ("bytes_in", "bytes_out", "ratio", "pages", "mb_per_s", "inputs"):
    assert k in enc, k
assert set(("zero", "ref", "delta", "literal")) <= set(enc["pages"])
assert len(enc["inputs"]) == 3
vm1, vm2 = enc["inputs"][0], enc["inputs"][1]
assert vm2["bytes_out"] < vm1["bytes_out"] / 2, (vm1["bytes_out"], vm2["bytes_out"])
assert vm2["pages"]["ref"] > 0 and vm2["pages"]["delta_sim"] > 0
assert dec["bytes_out"] == enc["bytes_in"], (dec["bytes_out"], enc["bytes_in"])
# the decoder sees the same pages; it cannot tell a delta's kind, so it must not claim a split
for k in ("zero", "ref", "delta", "literal", "literal_zstd", "literal_raw"):
    assert dec["pages"][k] == enc["pages"][k], (k, dec["pages"][k], enc["pages"][k])
assert "delta_sim" not in dec["pages"] and "delta_prev" not in dec["pages"], dec["pages"]
assert dec["ptr_rel_pages"] == enc["ptr_rel_pages"] and dec["records"] == enc["records"], (dec, enc)
assert enc["records"]["predicted"] > 0, enc["records"]
PY
# the same with one thread: the same bytes, nothing worked on ahead (which the default run did)
"$LHCODEC" decode --threads 1 --stats "$dir/all.lhw" "$dir/out1/" > "$dir/dec1.json"
for f in vm1.mig vm2.mig junk.bin; do cmp "$dir/$f" "$dir/out1/$f"; done
python3 - "$dir/dec.json" "$dir/dec1.json" <<'PY'
import json, sys
two, one = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert two["ahead"]["frames"] > 0 and one["ahead"] == {"frames": 0, "b_sections": 0}, (two["ahead"], one["ahead"])
assert two["pages"] == one["pages"] and two["bytes_out"] == one["bytes_out"]
PY
if "$LHCODEC" decode --threads 3 "$dir/all.lhw" "$dir/out3/" 2>/dev/null; then echo "--threads 3 accepted"; exit 1; fi
# encode with one thread: the same file; the default run compressed on its worker thread
"$LHCODEC" encode --threads 1 --store-mb 64 --stats "$dir/vm1.mig" "$dir/vm2.mig" "$dir/junk.bin" "$dir/all1.lhw" > "$dir/enc1.json"
cmp "$dir/all.lhw" "$dir/all1.lhw"
python3 - "$dir/enc.json" "$dir/enc1.json" <<'PY'
import json, sys
two, one = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert two["worker_frames"] > 0 and one["worker_frames"] == 0, (two["worker_frames"], one["worker_frames"])
assert two["worker_frames"] == sum(i["worker_frames"] for i in two["inputs"]), two
assert two["frames"] == one["frames"] and two["pages"] == one["pages"]
PY
if "$LHCODEC" encode --threads 3 "$dir/vm1.mig" "$dir/all3.lhw" 2>/dev/null; then echo "encode --threads 3 accepted"; exit 1; fi
test ! -e "$dir/all3.lhw"
# one stream to a file; a damaged file is refused
"$LHCODEC" encode "$dir/vm1.mig" "$dir/one.lhw"
"$LHCODEC" decode "$dir/one.lhw" "$dir/one.out"
cmp "$dir/vm1.mig" "$dir/one.out"
if "$LHCODEC" decode "$dir/all.lhw" "$dir/notadir" 2>/dev/null; then echo "several streams into one file accepted"; exit 1; fi
# OUT ending in '/' is a directory, made if missing
"$LHCODEC" decode "$dir/all.lhw" "$dir/newdir/"
for f in vm1.mig vm2.mig junk.bin; do cmp "$dir/$f" "$dir/newdir/$f"; done
# a truncated input: an error naming the offset, and no unverified stream left behind
head -c $(( $(stat -c %s "$dir/all.lhw") - 5 )) "$dir/all.lhw" > "$dir/cut.lhw"
if "$LHCODEC" decode "$dir/cut.lhw" "$dir/cut/" 2>"$dir/cut.err"; then echo "truncated input accepted"; exit 1; fi
grep -q "offset [0-9]*: truncated frame" "$dir/cut.err"
test ! -e "$dir/cut/junk.bin"
if "$LHCODEC" decode --threads 1 "$dir/cut.lhw" "$dir/cut1/" 2>"$dir/cut1.err"; then echo "truncated input accepted"; exit 1; fi
sed "s|/cut1/|/cut/|g" "$dir/cut1.err" | cmp - "$dir/cut.err" # the same error, read ahead or not
python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[len(b)//2]^=1; open(sys.argv[2],'wb').write(b)" "$dir/one.lhw" "$dir/bad.lhw"
if "$LHCODEC" decode "$dir/bad.lhw" "$dir/bad.out" 2>"$dir/bad.err"; then echo "damaged input accepted"; exit 1; fi
grep -q "checksum" "$dir/bad.err"
# a failed run removes what it wrote, but never an OUT that is not a regular file (/dev/null, a pipe)
mknod "$dir/nulldev" c 1 3
if "$LHCODEC" decode "$dir/bad.lhw" "$dir/nulldev" 2>/dev/null; then echo "damaged input accepted"; exit 1; fi
if "$LHCODEC" encode "$dir/missing.mig" "$dir/nulldev" 2>/dev/null; then echo "missing input accepted"; exit 1; fi
test -c "$dir/nulldev"
if "$LHCODEC" encode "$dir/missing.mig" "$dir/partial.lhw" 2>/dev/null; then echo "missing input accepted"; exit 1; fi
test ! -e "$dir/partial.lhw"
# the sender names the store size: decode refuses more than 4096 MiB unless told
"$LHCODEC" encode --store-mb 6000 "$dir/vm1.mig" "$dir/big-store.lhw"
if "$LHCODEC" decode "$dir/big-store.lhw" "$dir/big-store.out" 2>"$dir/store.err"; then echo "6000 MiB store accepted"; exit 1; fi
grep -q "limit is 4096 MiB (raise it with --store-mb)" "$dir/store.err"
"$LHCODEC" decode --store-mb 6000 "$dir/big-store.lhw" "$dir/big-store.out"
cmp "$dir/vm1.mig" "$dir/big-store.out"
# names in --stats are JSON strings, whatever the file is called
printf 'x' > "$dir/we\"ird.bin"
"$LHCODEC" encode --stats "$dir/we\"ird.bin" "$dir/weird.lhw" | python3 -c 'import json, sys; assert json.load(sys.stdin)["inputs"][0]["name"].endswith("we\"ird.bin")'
"$LHCODEC" decode --stats "$dir/weird.lhw" "$dir/weird/" | python3 -c 'import json, sys; assert json.load(sys.stdin)["streams"][0]["name"].endswith("/weird/we\"ird.bin")'
: > "$dir/empty.lhw"
if "$LHCODEC" decode "$dir/empty.lhw" "$dir/empty.out" 2>"$dir/empty.err"; then echo "empty input accepted"; exit 1; fi
grep -q "empty, not an encoded file" "$dir/empty.err"
# an OUT that is also the input is refused before anything is written to it
cp "$dir/vm1.mig" "$dir/keep.mig"
if "$LHCODEC" encode "$dir/vm2.mig" "$dir/keep.mig" "$dir/keep.mig" 2>"$dir/same.err"; then echo "OUT = IN accepted"; exit 1; fi
grep -q "is also an input" "$dir/same.err"
cmp "$dir/vm1.mig" "$dir/keep.mig"
cp "$dir/one.lhw" "$dir/keep.lhw"
if "$LHCODEC" decode "$dir/keep.lhw" "$dir/keep.lhw" 2>"$dir/same.err"; then echo "OUT = IN accepted"; exit 1; fi
grep -q "is the input" "$dir/same.err"
cmp "$dir/one.lhw" "$dir/keep.lhw"
# an input truncated by another process while lhcodec has it mapped: a clear error, no OUT left.
# The FIFO makes it deterministic: lhcodec maps big.mig, then blocks opening the FIFO until we do;
# we truncate once the mapping shows in its /proc maps, before it can read a byte of big.mig.
"$SYNTHGEN" --vm 3 --pages 3000 --random 0.02 "$dir/big.mig"
mkfifo "$dir/fifo"
"$LHCODEC" encode "$dir/big.mig" "$dir/fifo" "$dir/shrunk.lhw" 2>"$dir/shrunk.err" &
pid=$!
for _ in $(seq 100); do grep -q "big.mig" "/proc/$pid/maps" 2>/dev/null && break; sleep 0.05; done
truncate -s 4096 "$dir/big.mig"
timeout 10 bash -c ': > "$1"' _ "$dir/fifo" || true # open and close the FIFO's writing end (bounded)
if wait $pid; then echo "a file truncated under lhcodec was accepted"; exit 1; fi
grep -q "big.mig: the file shrank while it was being read" "$dir/shrunk.err"
test ! -e "$dir/shrunk.lhw"
echo "cli ok"
