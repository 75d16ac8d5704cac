#!/bin/sh
# Regenerates the *.pb.go files from proto/ into the directory given as $1
# (default: this package's directory). The protoc-gen-go version is the one
# pinned by the module's tool directive, so only protoc comes from the system.
set -eu
cd "$(dirname "$0")"
out=${1:-.}
plugin=$(go tool -n protoc-gen-go)
protoc \
	--plugin=protoc-gen-go="$plugin" \
	--proto_path=proto \
	--go_out="$out" \
	--go_opt=module=github.com/troupe-ml/troupe/messages \
	proto/troupe/v1/*.proto
