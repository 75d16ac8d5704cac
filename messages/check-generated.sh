#!/bin/sh
# Fails when the committed *.pb.go files differ from what the .proto files
# generate. The "// protoc vX" header line is ignored: it records the local
# protoc version and differs between otherwise identical outputs.
set -eu
cd "$(dirname "$0")"
if ! command -v protoc >/dev/null 2>&1; then
	echo "check-generated: protoc not found (install protobuf-compiler)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/fresh" "$tmp/committed"
sh gen.sh "$tmp/fresh"
for f in *.pb.go; do
	[ -e "$f" ] && cp "$f" "$tmp/committed/"
done
if ! diff -r -u -I '^//[[:space:]]*protoc[[:space:]]' "$tmp/committed" "$tmp/fresh"; then
	echo "check-generated: *.pb.go are stale; run 'go generate ./messages' and commit the result" >&2
	exit 1
fi
echo "check-generated: *.pb.go up to date"
