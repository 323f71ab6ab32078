package main

// Tests of what ships around the binary: the Dockerfile (no Docker engine
// runs here, so .ci/ship.sh builds the binary with the Dockerfile's own
// build line and points IOT_EMULATOR_BIN at it), the compose example and
// the README's snippets.

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
)

// repoFile reads a file relative to the repository root.
func repoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(name)))
	require.NoError(t, err)
	return string(b)
}

// dockerInstructions returns the final stage's instructions and the
// build stages' RUN lines, continuation lines joined.
func dockerInstructions(t *testing.T) (final []string, runs []string) {
	t.Helper()
	text := strings.ReplaceAll(repoFile(t, "Dockerfile"), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			runs = append(runs, final...)
			final = nil
		}
		final = append(final, line)
	}
	var buildRuns []string
	for _, l := range runs {
		if strings.HasPrefix(l, "RUN ") {
			buildRuns = append(buildRuns, l)
		}
	}
	return final, buildRuns
}

func TestDockerfile(t *testing.T) {
	final, runs := dockerInstructions(t)
	has := func(prefix string) []string {
		var out []string
		for _, l := range final {
			if strings.HasPrefix(l, prefix) {
				out = append(out, l)
			}
		}
		return out
	}
	t.Run("the binary is built static, trimmed, stripped and stamped on one line .ci/ship.sh can run", func(t *testing.T) {
		var builds []string
		for _, r := range runs {
			if strings.HasPrefix(r, "RUN CGO_ENABLED=0 go build ") {
				builds = append(builds, r)
			}
		}
		require.Len(t, builds, 1, "exactly one RUN CGO_ENABLED=0 go build line")
		for _, part := range []string{" -trimpath ", ` -ldflags "-s -w -X main.version=${VERSION}" `, " -o /out/iot-emulator ", " ./cmd/iot-emulator"} {
			assert.Contains(t, builds[0], part)
		}
	})
	t.Run("the final stage is the empty image", func(t *testing.T) {
		assert.Equal(t, []string{"FROM scratch"}, has("FROM "))
	})
	t.Run("it runs as a numeric non-root user that owns /data", func(t *testing.T) {
		user := has("USER ")
		require.Len(t, user, 1)
		uid, _, _ := strings.Cut(strings.Fields(user[0])[1], ":")
		n, err := strconv.Atoi(uid)
		require.NoError(t, err, "a numeric USER works on scratch, which has no /etc/passwd")
		assert.NotZero(t, n)
		assert.Contains(t, final, "COPY --from=build --chown="+strings.Fields(user[0])[1]+" /out/data /data")
	})
	t.Run("it listens on 0.0.0.0:8080, keeps /data as a volume and checks its own health", func(t *testing.T) {
		assert.Contains(t, final, "EXPOSE 8080")
		assert.Contains(t, final, "ENV IOT_EMULATOR_ADDR=0.0.0.0:8080")
		assert.Contains(t, final, "EXPOSE 1883", "devices log in on the MQTT port")
		assert.Contains(t, final, "ENV IOT_EMULATOR_MQTT_ADDR=0.0.0.0:1883")
		assert.Contains(t, final, "VOLUME /data")
		assert.Contains(t, final, `ENTRYPOINT ["/iot-emulator"]`)
		hc := has("HEALTHCHECK ")
		require.Len(t, hc, 1)
		assert.True(t, strings.HasSuffix(hc[0], `CMD ["/iot-emulator", "healthcheck"]`), hc[0])
	})
	t.Run(".dockerignore keeps the repository's history and node modules out of the context", func(t *testing.T) {
		lines := strings.Split(repoFile(t, ".dockerignore"), "\n")
		assert.Contains(t, lines, ".git")
		assert.Contains(t, lines, "**/node_modules")
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "emulator", "internal", "fixtures", "signature"} {
			assert.NotContains(t, lines, needed)
		}
	})
}

func TestComposeExample(t *testing.T) {
	compose := repoFile(t, "examples/docker-compose.yml")
	for _, want := range []string{
		"context: ..",
		`test: ["CMD", "/iot-emulator", "healthcheck"]`,
		"condition: service_healthy",
		"IOT_ENDPOINT: emulator:8080",
		`command: ["go", "run", "./examples/go"]`,
	} {
		t.Run("it has "+want, func(t *testing.T) { assert.Contains(t, compose, want) })
	}
	t.Run("the TLS example aliases the real names and mounts the CA into the client", func(t *testing.T) {
		tlsCompose := compose
		for _, want := range []string{"- iot.cn-shanghai.aliyuncs.com", "IOT_EMULATOR_TLS: \"on\"", "IOT_EMULATOR_TLS_DIR: /tls", "iot-ca:/tls:ro", "SSL_CERT_FILE: /tls/ca.pem",
			"https://iot.cn-shanghai.aliyuncs.com/_emulator/health"} {
			assert.Contains(t, tlsCompose, want)
		}
	})
	t.Run("the client it runs exists", func(t *testing.T) {
		_, err := os.Stat(filepath.Join("..", "..", "examples", "go", "main.go"))
		assert.NoError(t, err)
	})
}

// snippetMarker precedes a README code block that must be, line for line,
// the quick-start region of the named example file, so every snippet in
// the README is code that CI runs.
var snippetMarker = regexp.MustCompile("<!-- snippet: (\\S+) -->\\s*\n```[a-z]*\n((?s:.*?))```")

func TestReadmeSnippets(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	found := snippetMarker.FindAllStringSubmatch(string(b), -1)
	// The Go, pop-core and Tea quick-starts: losing a marker must not
	// quietly stop the check.
	require.GreaterOrEqual(t, len(found), 3, "README.md lost its <!-- snippet: PATH --> markers")
	for _, m := range found {
		t.Run("the README's snippet of "+m[1]+" is the file's quick-start region", func(t *testing.T) {
			region := quickStartRegion(t, repoFile(t, m[1]))
			assert.Equal(t, region, dedent(m[2]))
		})
	}
}

// quickStartRegion returns the lines between the "quick-start:begin" and
// "quick-start:end" comments, dedented.
func quickStartRegion(t *testing.T, src string) string {
	t.Helper()
	_, rest, ok := strings.Cut(src, "quick-start:begin\n")
	require.True(t, ok, "no quick-start:begin line")
	i := strings.LastIndex(rest[:strings.Index(rest, "quick-start:end")], "\n")
	require.GreaterOrEqual(t, i, 0, "no quick-start:end line")
	return dedent(rest[:i+1])
}

// dedent removes the indentation common to every non-empty line.
func dedent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	prefix, seen := "", false
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if !seen {
			prefix, seen = ind, true
		}
		for !strings.HasPrefix(ind, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, prefix)
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestBuiltBinary checks the binary .ci/ship.sh built with the Dockerfile's
// build line: what the image's scratch stage gets.
func TestBuiltBinary(t *testing.T) {
	bin := os.Getenv("IOT_EMULATOR_BIN")
	if bin == "" {
		t.Skip("IOT_EMULATOR_BIN names no binary; .ci/ship.sh builds one the Dockerfile's way and sets it")
	}
	t.Run("it is statically linked and stripped: no interpreter, no shared libraries, no symbols", func(t *testing.T) {
		f, err := elf.Open(bin)
		require.NoError(t, err)
		defer f.Close()
		for _, p := range f.Progs {
			assert.NotEqual(t, elf.PT_INTERP, p.Type, "PT_INTERP: needs a dynamic loader, which scratch lacks")
			assert.NotEqual(t, elf.PT_DYNAMIC, p.Type, "PT_DYNAMIC")
		}
		libs, err := f.ImportedLibraries()
		require.NoError(t, err)
		assert.Empty(t, libs, "DT_NEEDED")
		assert.Nil(t, f.Section(".symtab"), "-s strips the symbol table")
		assert.Nil(t, f.Section(".debug_info"), "-w drops DWARF")
		assert.Nil(t, f.Section(".zdebug_info"), "-w drops DWARF")
	})
	t.Run("it was built without cgo and with -trimpath", func(t *testing.T) {
		info, err := buildinfo.ReadFile(bin)
		require.NoError(t, err)
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		assert.Equal(t, "0", settings["CGO_ENABLED"])
		assert.Equal(t, "true", settings["-trimpath"])
		// -trimpath keeps -ldflags out of the build info: -s -w are checked
		// on the ELF sections, -X main.version by --version.
	})
	t.Run("--version prints the stamped version", func(t *testing.T) {
		cmd := exec.Command(bin, "--version")
		cmd.Env = []string{}
		out, err := cmd.Output()
		require.NoError(t, err)
		want := "iot-emulator " + os.Getenv("IOT_EMULATOR_BIN_VERSION") + "\n"
		if os.Getenv("IOT_EMULATOR_BIN_VERSION") == "" {
			assert.Regexp(t, `^iot-emulator \S+\n$`, string(out))
		} else {
			assert.Equal(t, want, string(out))
		}
	})
	t.Run("it serves with an empty environment in an empty directory and exits 0 on SIGTERM", func(t *testing.T) {
		dir := t.TempDir()
		cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0")
		cmd.Env = []string{}
		cmd.Dir = dir
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr syncBuffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		exited := false
		t.Cleanup(func() {
			if !exited {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})

		first := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			first <- line
			io.Copy(io.Discard, stdout)
		}()
		var line string
		select {
		case line = <-first:
		case <-time.After(hangGuard):
			t.Fatalf("no first line; stderr: %s", stderr.String())
		}
		_, addr, ok := strings.Cut(strings.TrimSpace(line), "listening on http://")
		require.True(t, ok, "first line %q; stderr: %s", line, stderr.String())

		resp, err := http.Get("http://" + addr + "/_emulator/health")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)

		hc := exec.Command(bin, "healthcheck", "--url", "http://"+addr)
		hc.Env = []string{}
		hc.Dir = dir
		out, err := hc.CombinedOutput()
		assert.NoError(t, err, "healthcheck: %s", out)

		req := iot.CreateBatchCheckDeviceNamesRequest()
		req.ProductKey = "a1TestProd1"
		req.DeviceName = &[]string{"static01"}
		cr, err := sdkClient(t, addr).BatchCheckDeviceNames(req)
		require.NoError(t, err)
		assert.True(t, cr.Success, "%s: %s", cr.Code, cr.ErrorMessage)

		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		err = cmd.Wait()
		exited = true
		require.NoError(t, err, "exit status after SIGTERM; stderr: %s", stderr.String())
		assert.Contains(t, stderr.String(), "shutting down")

		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, "without --db nothing is written to the working directory")
	})
}

func TestReadmeConfigTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	readme := string(b)
	newFlagSet(&options{}, io.Discard).VisitAll(func(f *flag.Flag) {
		t.Run("the README's configuration table documents --"+f.Name, func(t *testing.T) {
			assert.Contains(t, readme, "| `--"+f.Name+"` |")
			if f.Name != "version" {
				assert.Contains(t, readme, "`"+envName(f.Name)+"`")
			}
		})
	})
}

// adminBlock is the README's runnable list of admin API calls.
var adminBlock = regexp.MustCompile("<!-- admin-curl -->\\s*\n```sh\n((?s:.*?))```")

// TestReadmeAdminCurls runs the README's admin API examples, line by line
// and as written (only the address changes), against a live emulator with
// two batches waiting in CHECK, and requires every call to succeed.
func TestReadmeAdminCurls(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	m := adminBlock.FindStringSubmatch(repoFile(t, "README.md"))
	require.NotNil(t, m, "README.md lost its <!-- admin-curl --> block")
	in := start(t, []string{"--addr", "127.0.0.1:0", "--batch-progression", "manual", "--throttle", "off"}, nil)

	client, err := iot.NewClientWithAccessKey("cn-shanghai", "testAccessKeyId", "testAccessKeySecret")
	require.NoError(t, err)
	client.Domain = in.addr
	for _, names := range [][]string{{"light01", "light02"}, {"light01", "light02"}} {
		req := iot.CreateBatchCheckDeviceNamesRequest()
		req.ProductKey = "a1TestProd1"
		req.DeviceName = &names
		resp, err := client.BatchCheckDeviceNames(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
	}

	prelude := ""
	for _, line := range strings.Split(strings.TrimSpace(m[1]), "\n") {
		line = strings.ReplaceAll(line, "127.0.0.1:8080", in.addr)
		if !strings.HasPrefix(line, "curl ") {
			prelude += line + "\n"
			continue
		}
		call, _, _ := strings.Cut(line, "#")
		t.Run("the README's "+strings.TrimSpace(call)+" succeeds", func(t *testing.T) {
			// -f turns an HTTP error into a non-zero exit; -S shows it.
			cmd := exec.Command("bash", "-c", prelude+strings.Replace(line, "curl -s ", "curl -sSf ", 1))
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.True(t, strings.HasPrefix(strings.TrimSpace(string(out)), "{"), "a JSON answer: %s", out)
		})
	}
	t.Run("the block leaves the emulator as it found it", func(t *testing.T) {
		for path, want := range map[string]string{"/_emulator/config/progression": `{"progression":"manual"}`, "/_emulator/faults": `{"faults":[]}`} {
			resp, err := http.Get("http://" + in.addr + path)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.JSONEq(t, want, string(body), path)
		}
	})
}

// TestReadmeAPITable keeps the README's APIs table in step with the action
// table: every action, its required parameters and its QPS limit.
func TestReadmeAPITable(t *testing.T) {
	readme := repoFile(t, "README.md")
	for _, a := range emulator.Actions() {
		t.Run("the README's APIs table documents "+a.Name, func(t *testing.T) {
			req := "—"
			if len(a.Required) > 0 {
				req = "`" + strings.Join(a.Required, "`, `") + "`"
			}
			row := regexp.MustCompile("(?m)^\\| `" + a.Name + "` \\| [^\\n]* \\| " + regexp.QuoteMeta(req) + " \\| " + strconv.FormatFloat(a.QPS, 'g', -1, 64) + "( |\\|)")
			assert.Regexp(t, row, readme)
		})
	}
}
