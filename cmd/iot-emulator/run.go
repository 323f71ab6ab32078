package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/fixtures"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = ""

// badValueRE reads the flag package's error for a value a flag refused.
var badValueRE = regexp.MustCompile(`^invalid value (".*") for flag -([\w-]+): (.*)$`)

// errUsage marks a mistake on the command line. The healthcheck's flag
// package has told the user already; the server's usageErr says it in its
// own message.
var errUsage = errors.New("usage")

// usageError is a command-line mistake with its one-line message.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

func usageErr(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// envPrefix prefixes the environment variable of every flag.
const envPrefix = "IOT_EMULATOR_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// options is the parsed command line: the emulator's Config, whose fields
// the flags are bound to (with DefaultConfig's values as their defaults),
// and the few settings that belong to the command alone.
type options struct {
	// usage prints --help.
	usage                               func()
	cfg                                 emulator.Config
	addr, fixtures, logFormat, logLevel string
	showVersion                         bool
}

// qpsFlag collects repeatable --qps Action=N into the config's map.
type qpsFlag map[string]float64

func (q qpsFlag) String() string {
	var parts []string
	for k, v := range q {
		parts = append(parts, k+"="+strconv.FormatFloat(v, 'g', -1, 64))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Set takes Action=N, or several separated by commas (the env var form).
func (q qpsFlag) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		n, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil || n < 0 {
			return fmt.Errorf("want Action=N with N >= 0, got %q", part)
		}
		found := false
		for _, a := range emulator.Actions() {
			found = found || a.Name == name
		}
		if !found {
			return fmt.Errorf("unknown action %q", name)
		}
		q[name] = n
	}
	return nil
}

// onOff is a boolean flag spelt on/off (true/false, 1/0, yes/no also do).
type onOff struct{ v *bool }

func (o onOff) String() string {
	if o.v != nil && *o.v {
		return "on"
	}
	return "off"
}

func (o onOff) Set(s string) error {
	switch strings.ToLower(s) {
	case "on", "true", "1", "yes":
		*o.v = true
	case "off", "false", "0", "no":
		*o.v = false
	default:
		return errors.New("want on or off")
	}
	return nil
}

// listFlag is a comma-separated list.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l.v = append(*l.v, part)
		}
	}
	return nil
}

// progressionFlag parses --batch-progression into the config.
type progressionFlag struct{ p *emulator.Progression }

func (f progressionFlag) String() string {
	if f.p == nil {
		return ""
	}
	return f.p.String()
}

func (f progressionFlag) Set(s string) error {
	p, err := emulator.ParseProgression(s)
	if err == nil {
		*f.p = p
	}
	return err
}

func newFlagSet(o *options, help io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("iot-emulator", flag.ContinueOnError)
	// The flag package's own messages (single dashes, the whole usage on
	// every mistake) are replaced by parseOptions' one-line errors.
	fs.SetOutput(io.Discard)
	stderr := help
	o.cfg = emulator.DefaultConfig()
	c := &o.cfg
	c.QPS = map[string]float64{}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (0.0.0.0:8080 inside a container)")
	fs.StringVar(&c.DB, "db", c.DB, "SQLite database file; empty keeps state in memory")
	fs.StringVar(&o.fixtures, "fixtures", "", "fixture file to load instead of the embedded default")
	fs.DurationVar(&c.CheckDelay, "check-delay", c.CheckDelay, "how long a batch stays in CHECK under the delay progression")
	fs.DurationVar(&c.CreateDelay, "create-delay", c.CreateDelay, "how long a batch stays in CREATE under the delay progression")
	fs.Var(progressionFlag{&c.Progression}, "batch-progression", "batch timing: immediate, delay, manual or polls:N")
	fs.StringVar(&c.Auth, "auth", c.Auth, "strict: fixture accounts and valid signatures only; loose: any AccessKeyId, signature not checked")
	fs.Var(onOff{&c.Throttle}, "throttle", "per-account, per-action QPS limits: on or off")
	fs.Var(qpsFlag(c.QPS), "qps", "override one action's QPS limit, Action=N (repeatable; 0 = unlimited)")
	fs.Float64Var(&c.QPSScale, "qps-scale", c.QPSScale, "multiply every QPS limit by this factor")
	fs.IntVar(&c.ThrottleStatus, "throttle-status", c.ThrottleStatus, "HTTP status of Throttling.User answers: 400 or 429")
	fs.IntVar(&c.BusinessErrorStatus, "business-error-status", c.BusinessErrorStatus, "HTTP status of Success=false business errors: 200 (documented) or 400")
	fs.BoolVar(&c.SuccessLists, "success-lists", c.SuccessLists, "list every name in ValidList of CHECK_SUCCESS/CREATE_SUCCESS (the metadata demo) instead of an empty list")
	fs.IntVar(&c.DeviceQuota, "device-quota", c.DeviceQuota, "devices allowed per product; 0 = the documented quota (3,000,000 in cn-shanghai, else 1,000,000)")
	fs.BoolVar(&c.DeleteProductCascade, "delete-product-cascade", c.DeleteProductCascade, "let DeleteProduct delete a product that still has devices (with them) instead of refusing it")
	fs.DurationVar(&c.TimestampWindow, "timestamp-window", c.TimestampWindow, "how far Timestamp/x-acs-date may be from the server clock")
	fs.Var(onOff{&c.Admin}, "admin", "admin API under /_emulator/: on or off (health stays on)")
	fs.IntVar(&c.JournalSize, "journal-size", c.JournalSize, "how many requests the request journal keeps")
	fs.StringVar(&c.Region, "region", c.Region, "region reported in device details")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "make generated ids and secrets the same in every run (0: random)")
	fs.StringVar(&c.MQTTAddr, "mqtt-addr", c.MQTTAddr, "MQTT (TCP) address devices log in at; off switches the broker off")
	fs.StringVar(&c.MQTTWSAddr, "mqtt-ws-addr", c.MQTTWSAddr, "MQTT over WebSocket address (path /mqtt); empty or off: none")
	fs.Var(onOff{&c.TLS}, "tls", "serve HTTPS and MQTT over TLS beside the plain listeners (and TLS on the plain RPC port): on or off")
	fs.StringVar(&c.TLSAddr, "tls-addr", c.TLSAddr, "HTTPS address of the RPC API and the admin API, with --tls on")
	fs.StringVar(&c.MQTTTLSAddr, "mqtt-tls-addr", c.MQTTTLSAddr, "MQTT over TLS address, with --tls on; off: none")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "certificate (PEM) to serve instead of one signed by the local CA")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "private key (PEM) of --tls-cert")
	fs.StringVar(&c.TLSDir, "tls-dir", c.TLSDir, "where the local CA is made once and kept; empty: the user's cache directory")
	fs.Var(listFlag{&c.TLSHosts}, "tls-hosts", "more host names or IPs for the generated certificate, comma-separated")
	fs.StringVar(&c.ThingModel, "thing-model", c.ThingModel, "loose: a product without a thing model accepts any property (type inferred); strict: undeclared identifiers are refused everywhere")
	fs.IntVar(&c.PropertyHistory, "property-history", c.PropertyHistory, "property, event and service history points kept per device (oldest dropped first)")
	fs.IntVar(&c.MessageLogSize, "message-log-size", c.MessageLogSize, "messages to and from devices the message log keeps")
	fs.StringVar(&c.PropertyErrors, "property-errors", c.PropertyErrors, "a property post with values that break the thing model: reply (answer the Alink code of the first) or drop (answer 200 and drop them, as the Alink docs say)")
	fs.StringVar(&c.ServiceResult, "service-result", c.ServiceResult, "Data.Result of a sync InvokeThingService: data (the reply's data) or reply (the whole Alink reply)")
	fs.Var(onOff{&c.MQTTKeepaliveCheck}, "mqtt-keepalive-check", "refuse a device Keep Alive outside 30-1200 s, as the real broker does: on or off")
	addHardeningFlags(fs, c)
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	o.usage = func() {
		fmt.Fprintf(stderr, "Usage: iot-emulator [flags]\n       iot-emulator healthcheck [--url URL]\n\nEvery flag can also be set with an environment variable %s<FLAG> (flag wins).\n\nFlags:\n", envPrefix)
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == "version" {
				fmt.Fprintf(stderr, "  --%s\n      %s\n", f.Name, f.Usage)
				return
			}
			fmt.Fprintf(stderr, "  --%s (env %s, default %q)\n      %s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
		})
		// The limits as the throttle would enforce them with the --qps and
		// --qps-scale given before --help (0 = unlimited).
		fmt.Fprintf(stderr, "\nQPS limits in force (per account and action; --throttle off disables all):\n")
		for _, l := range emulator.Limits(o.cfg) {
			fmt.Fprintf(stderr, "  %-32s %g", l.Action, l.QPS)
			if l.DeepQPS > 0 {
				fmt.Fprintf(stderr, " (%g when CurrentPage x PageSize >= 100,000)", l.DeepQPS)
			}
			fmt.Fprintln(stderr)
		}
	}
	return fs
}

// parseOptions fills every flag from its environment variable, then
// parses the command line over them, so a flag wins and --help already
// sees the environment (it prints the QPS limits in force). For the
// repeatable --qps, flags override the environment's list action by action.
func parseOptions(args []string, getenv func(string) string, stdout io.Writer) (*options, error) {
	o := &options{}
	fs := newFlagSet(o, stdout)
	fs.Usage = func() {}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		// --version is an action, not a setting: an IOT_EMULATOR_VERSION
		// left in a container's environment must not turn start-up into it.
		if err != nil || f.Name == "version" {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%s: %s", envName(f.Name), v, valueHint(f, e))
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			o.usage()
			return nil, flag.ErrHelp
		}
		// One line, flags spelt with two dashes, and the way to more.
		msg := err.Error()
		if m := badValueRE.FindStringSubmatch(msg); m != nil {
			return nil, fmt.Errorf("--%s %s: %s", m[2], m[1], valueHint(fs.Lookup(m[2]), errors.New(m[3])))
		}
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
			return nil, usageErr("unknown flag --%s (see --help)", strings.TrimPrefix(name, "-"))
		}
		if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
			return nil, usageErr("--%s needs a value (see --help)", strings.TrimPrefix(name, "-"))
		}
		return nil, usageErr("%s (see --help)", msg)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	return o, nil
}

// valueHint says what a flag wants, for a value it refused: the flag
// package's own "parse error" says nothing.
func valueHint(f *flag.Flag, err error) string {
	if f == nil {
		return err.Error()
	}
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case time.Duration:
			return "want a duration such as 500ms"
		case int:
			return "want an integer"
		case float64:
			return "want a number such as 0.5"
		case bool:
			return "want true or false"
		}
	}
	return err.Error()
}

// config completes the Config with what the command alone knows (the
// fixture file, the logger) and validates it.
func (o *options) config(stderr io.Writer) (emulator.Config, error) {
	cfg := o.cfg
	cfg.Version = Version()
	if o.fixtures != "" {
		f, err := fixtures.Load(o.fixtures)
		if err != nil {
			return cfg, err
		}
		cfg.Fixtures = f
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return cfg, fmt.Errorf("--log-level: %v", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, hopts))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	default:
		return cfg, fmt.Errorf("--log-format: want text or json, got %q", o.logFormat)
	}
	return cfg, cfg.Validate()
}

// Version returns the stamped version, or the module version when built
// with go install, or "devel".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// run is the whole program: main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
	}
	o, err := parseOptions(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.showVersion {
		fmt.Fprintln(stdout, "iot-emulator", Version())
		return nil
	}
	cfg, err := o.config(stderr)
	if err != nil {
		return err
	}
	return serve(ctx, o, cfg, stdout)
}

func serve(ctx context.Context, o *options, cfg emulator.Config, stdout io.Writer) error {
	ln, err := net.Listen("tcp", o.addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen on %s: the port is already in use (another iot-emulator?); choose another with --addr or %s", o.addr, envName("addr"))
	}
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	defer ln.Close()
	if err := checkWritable(cfg.DB); err != nil {
		return err
	}
	listeners := []net.Listener{ln}
	if cfg.TLS {
		tln, err := net.Listen("tcp", cfg.TLSAddr)
		if err != nil {
			return fmt.Errorf("--tls-addr %s: %w", cfg.TLSAddr, err)
		}
		defer tln.Close()
		listeners = append(listeners, tln)
	}
	srv, err := emulator.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	if cfg.TLS {
		listeners[1] = tls.NewListener(listeners[1], srv.TLSConfig())
	}

	where := "in-memory SQLite (lost on exit; --db PATH keeps it)"
	if cfg.DB != "" {
		where = "SQLite file " + cfg.DB
	}
	// What the store holds, not what the fixture says: a kept --db may
	// hold more (or other secrets) than the fixture given now.
	held, err := srv.Held(ctx)
	if err != nil {
		return fmt.Errorf("read store: %w", err)
	}
	creds, keys := held.Credentials, held.ProductKeys
	// A wildcard bind is printed as a URL one can use, with where it is bound.
	url := usableAddr(ln.Addr().String())
	fmt.Fprintf(stdout, "iot-emulator %s listening on http://%s\n", Version(), url)
	if url != ln.Addr().String() {
		fmt.Fprintf(stdout, "bound to %s (every interface)\n", ln.Addr())
	}
	if cfg.Admin {
		fmt.Fprintf(stdout, "admin: http://%s/_emulator/ (a page for browsers; JSON routes under it)\n", url)
		fmt.Fprintf(stdout, "dashboard: http://%s/_emulator/ui (live devices, batches, requests)\n", url)
	}
	fmt.Fprintf(stdout, "modes: auth=%s throttle=%s batch-progression=%s tls=%s\n", cfg.Auth, onOffWord(cfg.Throttle), cfg.Progression, onOffWord(cfg.TLS))
	if a := srv.MQTTAddr(); a != "" {
		fmt.Fprintf(stdout, "mqtt: tcp://%s\n", a)
	}
	if a := srv.MQTTWSAddr(); a != "" {
		fmt.Fprintf(stdout, "mqtt: ws://%s/mqtt\n", a)
	}
	if cfg.TLS {
		fmt.Fprintf(stdout, "https: https://%s (and https:// on the plain port)\n", listeners[1].Addr())
		if a := srv.MQTTTLSAddr(); a != "" {
			fmt.Fprintf(stdout, "mqtt: ssl://%s\n", a)
		}
		if _, path := srv.CACert(); path != "" {
			fmt.Fprintf(stdout, "tls: CA %s (also GET /_emulator/ca.pem); trust it with SSL_CERT_FILE=%s (Go, Python, curl), NODE_EXTRA_CA_CERTS=%s (Node), keytool -importcert -noprompt -alias iot-emulator -file %s -keystore emulator.jks -storepass changeit then -Djavax.net.ssl.trustStore=emulator.jks (Java), or the Link SDKs' CA option\n", path, path, path, path)
		}
	}
	fmt.Fprintf(stdout, "credentials: %s\n", strings.Join(creds, "; "))
	fmt.Fprintf(stdout, "product keys: %s\n", strings.Join(keys, " "))
	fmt.Fprintf(stdout, "state: %s\n", where)
	// The same, as one structured record for --log-format json readers.
	cfg.Logger.Info("started", "version", Version(), "rpc", "http://"+url, "mqtt", srv.MQTTAddr(), "admin", cfg.Admin,
		"auth", cfg.Auth, "throttle", cfg.Throttle, "progression", cfg.Progression.String(), "tls", cfg.TLS, "state", where,
		"accounts", len(creds), "productKeys", keys)
	return srv.Run(ctx, listeners...)
}

// usableAddr turns a wildcard listen address into one a client can dial.
func usableAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || (host != "0.0.0.0" && host != "::" && host != "") {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

func onOffWord(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// checkWritable fails early, naming the file, when the --db file cannot be
// opened for writing: SQLite itself would either say only "unable to open
// database file" or open it read-only and fail on the first write.
func checkWritable(path string) error {
	if path == "" || path == ":memory:" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("--db %s: the database file is not writable: %w", path, err)
	}
	return f.Close()
}

// healthcheck exits 0 when the emulator at --url answers its health check.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := getenv(envName("addr"))
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	url := fs.String("url", "", "health URL or base URL (default http://<--addr>/_emulator/health, env "+envName("addr")+")")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for an answer")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected argument %q (usage: iot-emulator healthcheck [--url URL] [--timeout D])", fs.Arg(0))
	}
	target := *url
	if target == "" {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		target = "http://" + addr
	}
	if !strings.Contains(target, "://") {
		target = "http://" + target // --url host:port
	}
	if !strings.Contains(strings.TrimPrefix(strings.TrimPrefix(target, "http://"), "https://"), "/_emulator/") {
		target = strings.TrimRight(target, "/") + "/_emulator/health"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck %s: HTTP %d %s", target, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "healthy: %s\n", strings.TrimSpace(string(body)))
	return nil
}
