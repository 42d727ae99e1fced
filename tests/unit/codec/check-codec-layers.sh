#!/bin/bash
# SPDX-License-Identifier: MIT
# Fails when a codec object calls across its layers (encoder <-> decoder) or code outside codec/ includes codec/ paths.
#
# Usage: check-codec-layers.sh NM SRCDIR OBJECT...
#   NM      the nm to read the objects with (CMAKE_NM)
#   SRCDIR  the project's source root (for the include check)
#   OBJECT  the per-file objects of lhcodec_lib ($<TARGET_OBJECTS:...>; ';'-separated lists are split)
#
# Part 1 reads what each object defines and what it needs (nm) and checks every
# reference against the layer table below. The encoder and the decoder each sit
# on the shared WAN modules and never call each other: each direction can be
# read, changed and tested against those alone, and what both must agree on
# (frame header, parameters) lives in one place. Every object must be in the
# table: a new codec/*.c file fails here until someone says where it belongs.
#
# Part 2: the codec's internal headers are for the codec alone. Targets that put
# the project root on their include path (the gateway) could still reach them as
# "codec/frame.h", which no compiler flag stops: no file outside codec/ may
# include a codec/ path; the public headers are included by name.
set -uo pipefail

if [ $# -lt 3 ]; then
	echo "usage: $0 NM SRCDIR OBJECT..." >&2
	exit 2
fi
nm=$1 src=$2
shift 2

# The layers, by source file. A layer may use itself and the layers listed in `uses`.
declare -A layer=(
	# base: error codes and names, used by every layer
	[errors.c]=base
	# stream: the QEMU migration stream parser and re-emitter, the return-path scanner
	[parser.c]=stream [parse_main.c]=stream [parse_multifd.c]=stream [parse_ram.c]=stream
	[parse_tail.c]=stream [emit.c]=stream [rp.c]=stream
	# shared: what both WAN directions use (frame header, parameters, page store, page transforms, threads)
	[frame.c]=shared [wan_params.c]=shared [pagestore.c]=shared [delta.c]=shared [ptrrel.c]=shared
	[similar.c]=shared [bg_thread.c]=shared
	# enc: the WAN encoder
	[wan_encoder.c]=enc [wan_batch.c]=enc [wan_pages.c]=enc [wan_rechdr.c]=enc [enc_worker.c]=enc
	[lastver.c]=enc
	# dec: the WAN decoder
	[wan_decoder.c]=dec [wan_dec_sections.c]=dec [wan_dec_ahead.c]=dec
)
declare -A uses=(
	[base]="base"
	[stream]="stream base"
	[shared]="shared base"
	[enc]="enc shared stream base"
	[dec]="dec shared base"
)

objs=()
for a in "$@"; do
	IFS=';' read -ra parts <<<"$a"
	objs+=("${parts[@]}")
done

fail=0
declare -A def_layer=() def_file=() obj_layer=() src_of=()
# each object's layer, from its source file name (wan_batch.c.o or wan_batch.o)
for o in "${objs[@]}"; do
	[ -n "$o" ] || continue
	if [ ! -f "$o" ]; then
		echo "FAIL: no object $o (build the codec library first)"
		fail=1
		continue
	fi
	b=$(basename "$o")
	b=${b%.o}
	b=${b%.obj}
	case $b in *.c) ;; *) b=$b.c ;; esac
	l=${layer[$b]:-}
	if [ -z "$l" ]; then
		echo "FAIL: codec/$b is in no layer: add it to the table in $0"
		fail=1
		continue
	fi
	obj_layer[$o]=$l
	src_of[$o]=$b
done
if [ ${#obj_layer[@]} -eq 0 ]; then
	echo "FAIL: no codec objects given"
	exit 1
fi

# one nm over all objects (-A: "object: symbol type value size" on every line)
syms=$("$nm" -A -P -g "${!obj_layer[@]}") || {
	echo "FAIL: $nm could not read the objects"
	exit 1
}
while read -r o sym type _; do
	o=${o%:}
	case $type in U | w | v | '') continue ;; esac
	def_layer[$sym]=${obj_layer[$o]}
	def_file[$sym]=${src_of[$o]}
done <<<"$syms"

refs=0
while read -r o sym type _; do
	o=${o%:}
	[ "$type" = U ] || continue
	dl=${def_layer[$sym]:-}
	[ -n "$dl" ] || continue # libc, zstd, xxhash
	l=${obj_layer[$o]}
	refs=$((refs + 1))
	case " ${uses[$l]} " in
	*" $dl "*) ;;
	*)
		echo "FAIL: ${src_of[$o]} ($l) uses $sym from ${def_file[$sym]} ($dl); $l may use only: ${uses[$l]}"
		fail=1
		;;
	esac
done <<<"$syms"
echo "checked ${#obj_layer[@]} codec objects, $refs references between them"

# Part 2: includes of codec/ paths from outside codec/ (build trees and .git skipped).
bad=$(find "$src" \( -type d \( -name .git -o -name 'build*' -o -path "$src/codec" \) \) -prune -o \
	-type f \( -name '*.c' -o -name '*.h' \) -print0 |
	xargs -0 grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^">]*/)?codec/' 2>/dev/null)
if [ -n "$bad" ]; then
	echo "FAIL: code outside codec/ includes codec/ paths (include the public headers by name):"
	echo "$bad"
	fail=1
fi

if [ $fail -ne 0 ]; then
	echo "codec layers: FAILED"
	exit 1
fi
echo "codec layers: ok"
