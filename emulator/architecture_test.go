package emulator_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/iot-emulator/iot-emulator/"

// TestImportRules keeps the layers of ARCHITECTURE.md apart: each package
// below must not depend, directly or through others, on what is listed.
// A prefix ending in "/" matches a whole tree; "module" is every package
// of this module but the one checked (and, for pop, signature).
func TestImportRules(t *testing.T) {
	wire := []string{"net/http", "github.com/go-chi/", "github.com/mochi-mqtt/"}
	for _, tc := range []struct {
		name, pkg string
		never     []string
		allowed   []string // module packages it may use
	}{
		{"the domain core imports nothing of HTTP, SQL or MQTT, and no other package of ours", "internal/iot",
			append([]string{"database/sql", "modernc.org/", "module"}, wire...), nil},
		{"the gateway imports no product: no domain, actions, store or control plane", "internal/pop",
			[]string{"database/sql", "modernc.org/", "module"}, []string{"signature", "internal/buckets"}},
		{"the store imports no wire code", "internal/store",
			append([]string{module + "internal/pop", module + "internal/actions", module + "internal/control", module + "internal/admin"}, wire...), nil},
		{"signature knows no server and nothing of ours", "signature", append([]string{"module"}, wire...), nil},
		{"the batch worker imports no wire code", "internal/batch", append([]string{module + "internal/pop"}, wire...), nil},
		{"the device loop imports no wire code: no HTTP, MQTT, gateway, actions or broker", "internal/things",
			append([]string{module + "internal/pop", module + "internal/actions", module + "internal/broker", module + "internal/admin", module + "internal/control"}, wire...), nil},
		{"the dashboard is files only: it imports nothing of ours", "internal/dashboard", []string{"module"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", module+tc.pkg).CombinedOutput()
			require.NoError(t, err, "%s", out)
			allowed := map[string]bool{module + tc.pkg: true}
			for _, a := range tc.allowed {
				allowed[module+a] = true
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, bad := range tc.never {
					switch {
					case bad == "module":
						assert.False(t, strings.HasPrefix(dep, module) && !allowed[dep], "%s depends on %s", tc.pkg, dep)
					case strings.HasSuffix(bad, "/"):
						assert.False(t, strings.HasPrefix(dep, bad), "%s depends on %s", tc.pkg, dep)
					default:
						assert.NotEqual(t, bad, dep, "%s depends on %s", tc.pkg, dep)
					}
				}
			}
		})
	}
}

// TestNoLargeTrackedFiles keeps build outputs and binaries out of git.
func TestNoLargeTrackedFiles(t *testing.T) {
	out, err := exec.Command("git", "-C", "..", "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		st, err := os.Stat("../" + f)
		if err != nil {
			continue // deleted in the work tree
		}
		assert.LessOrEqual(t, st.Size(), int64(1<<20), "%s is a tracked file over 1 MB", f)
	}
}
