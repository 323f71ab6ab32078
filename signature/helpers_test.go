package signature

import (
	"fmt"
	"reflect"
	"testing"
)

// These helpers keep the tables readable with the standard library alone;
// testify is not usable here because go.sum lacks its transitive modules.

func msg(args []any) string {
	if len(args) == 0 {
		return ""
	}
	if format, ok := args[0].(string); ok {
		return ": " + fmt.Sprintf(format, args[1:]...)
	}
	return ": " + fmt.Sprint(args...)
}

func mustEqual(t *testing.T, want, got any, args ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("not equal%s\nwant: %#v\n got: %#v", msg(args), want, got)
	}
}

func mustTrue(t *testing.T, cond bool, args ...any) {
	t.Helper()
	if !cond {
		t.Fatalf("expected true%s", msg(args))
	}
}

func mustNoError(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}
