//go:build tools

// Package tools pins the Pulumi CLI that `make e2e` builds. The CLI's own go.mod replaces sdk/v3 with a
// relative path, so `go install ...@version` refuses it; requiring it from this module works because
// replace directives in dependencies are ignored.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
