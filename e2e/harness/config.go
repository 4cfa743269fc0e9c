package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultConcurrency is the number of Envoy worker threads when
// Config.Concurrency is 0: two workers mean two Wasm VMs, enough to show
// whether state is shared across workers.
const DefaultConcurrency = 2

// DefaultVMID is the vm_id of Wasm filters that name none. Filters with the
// same VM ID and module share one VM per worker.
const DefaultVMID = "steadfast"

// Config is the Envoy a test starts. The zero value is usable once it has a
// cluster: one listener named "main" routing everything to the first cluster.
type Config struct {
	// Listeners each get a loopback port chosen by the kernel. Nil means one
	// listener named "main". Envoy.URL refers to the first listener.
	Listeners []Listener
	// Clusters are the upstreams routes may send requests to.
	Clusters []Cluster
	// Concurrency is Envoy's --concurrency; 0 means DefaultConcurrency.
	Concurrency int
	// LogLevel is Envoy's -l; "" means "info".
	LogLevel string
	// WasmDebug sets the wasm component's log level to debug, which is where
	// the filters' proxywasm.LogDebug lines appear.
	WasmDebug bool
	// Env is added to Envoy's own environment, on top of the test
	// process's: where a Wasm filter's HostEnvKeys are read from, as a
	// proxy's environment is filled from a Kubernetes Secret.
	Env map[string]string
	// StatsTags is a YAML fragment with a top-level stats_config key, appended
	// to the bootstrap as is. "" means the repository's envoy/stats_tags.yaml,
	// so /stats/prometheus shows the filters' labels as the shipped configs do.
	StatsTags string

	// logDir is where access logs go; Start sets it to the test's temporary
	// directory. "" (Render alone) sends them to Envoy's stdout.
	logDir string
}

// accessLogPath is where the listener's access log lines go.
func accessLogPath(cfg Config, listener string) string {
	if cfg.logDir == "" {
		return "/dev/stdout"
	}
	return filepath.Join(cfg.logDir, "access-"+listener+".log")
}

// Listener is an HTTP listener on 127.0.0.1 with Envoy's HTTP connection
// manager, codec AUTO (HTTP/1.1, and HTTP/2 with or without TLS-less prior
// knowledge, so gRPC clients work).
type Listener struct {
	// Name is Envoy's listener name and the key of Envoy.Ports. "" means
	// "main" for the first listener and "main_<index>" for the others. The
	// connection manager's stat prefix is "ingress_<name>".
	Name string
	// Routes are tried in order. Nil means one route named "default" with
	// prefix "/" to the first cluster.
	Routes []Route
	// Filters run in order before Envoy's router.
	Filters []HTTPFilter
	// AccessLog, when set, is an access log format line (Envoy's command
	// operators, such as "%RESPONSE_CODE% %FILTER_STATE(wasm.x:PLAIN)%");
	// the lines go to Envoy.AccessLogPath.
	AccessLog string
	// BufferLimitBytes is the listener's per-connection buffer limit, which
	// caps how much body a filter may hold back; 0 keeps Envoy's 1 MiB.
	BufferLimitBytes int
}

// Route is one route of the listener's single virtual host (domain "*").
type Route struct {
	// Name is the Envoy route name, the xds.route_name property that the
	// filters' per-route "routes" entries match.
	Name string
	// Prefix is the path prefix the route matches; "" means "/".
	Prefix string
	// Cluster receives the route's requests. Exactly one of Cluster and
	// DirectResponse is set.
	Cluster string
	// DirectResponse makes Envoy answer by itself, without an upstream.
	DirectResponse *DirectResponse
	// DisableFilters names HTTP filters that Envoy itself skips on this route
	// (typed_per_filter_config with FilterConfig{disabled: true}).
	DisableFilters []string
	// Timeout is the route's upstream timeout. 0 keeps Envoy's default of
	// 15s; a negative value disables the timeout.
	Timeout time.Duration
	// RetryOn gives the route Envoy's own retry policy (retry_on, such as
	// "5xx") with NumRetries retries, each after RetryBackOff (base and
	// max interval); "" has none.
	RetryOn      string
	NumRetries   int
	RetryBackOff time.Duration
}

// DirectResponse is an answer Envoy sends without an upstream.
type DirectResponse struct {
	Status int
	Body   string
}

// Cluster is an upstream on loopback.
type Cluster struct {
	Name string
	// Address is the upstream's host:port, such as Upstream.Addr.
	Address string
	// HTTP2 makes Envoy speak HTTP/2 without TLS to the upstream, as gRPC
	// needs. The upstreams of NewUpstream accept both.
	HTTP2 bool
}

// HTTPFilter is one entry of a listener's HTTP filter chain: a Wasm filter
// or an Envoy filter given as raw JSON.
type HTTPFilter interface {
	filterName() string
	filterJSON() (any, error)
}

// Wasm is a proxy-wasm filter running in Envoy's V8 runtime.
type Wasm struct {
	// Name is the HTTP filter's name, as Route.DisableFilters refers to it.
	// "" means "steadfast.<RootID>", or "steadfast.<module file name>" when
	// RootID is "".
	Name string
	// RootID selects the filter inside a module that hosts several; "" for
	// modules without root_id dispatch.
	RootID string
	// Module is the path of the .wasm file; see Module.
	Module string
	// Configuration is the plugin configuration, JSON; "" passes none.
	Configuration string
	// Env is passed to the VM as environment variables, written into the
	// configuration (environment_variables.key_values): every value shows
	// in Envoy's /config_dump. Secrets belong in HostEnvKeys.
	Env map[string]string
	// HostEnvKeys name variables of Envoy's own environment (Config.Env)
	// that the VM sees (environment_variables.host_env_keys): only the
	// names are in the configuration.
	HostEnvKeys []string
	// VMID is the vm_id; "" means DefaultVMID.
	VMID string
	// AllowOnHeadersStopIteration sets the plugin config's
	// allow_on_headers_stop_iteration (Envoy 1.35+), which a filter that
	// holds the headers back while it reads the body needs.
	AllowOnHeadersStopIteration bool
}

// RawFilter is a whole HTTP filter entry as JSON, for Envoy's own filters:
//
//	{"name": "envoy.filters.http.fault", "typed_config": {"@type": "...", ...}}
type RawFilter string

func (w Wasm) filterName() string {
	if w.Name != "" {
		return w.Name
	}
	return "steadfast." + w.pluginName()
}

func (w Wasm) pluginName() string {
	if w.RootID != "" {
		return w.RootID
	}
	return strings.TrimSuffix(filepath.Base(w.Module), ".wasm")
}

func (w Wasm) filterJSON() (any, error) {
	if w.Module == "" {
		return nil, fmt.Errorf("wasm filter %q: Module is empty", w.filterName())
	}
	module, err := filepath.Abs(w.Module)
	if err != nil {
		return nil, err
	}
	vmID := w.VMID
	if vmID == "" {
		vmID = DefaultVMID
	}
	vm := obj{
		"vm_id":   vmID,
		"runtime": "envoy.wasm.runtime.v8",
		"code":    obj{"local": obj{"filename": module}},
	}
	env := obj{}
	if len(w.Env) > 0 {
		env["key_values"] = w.Env
	}
	if len(w.HostEnvKeys) > 0 {
		env["host_env_keys"] = w.HostEnvKeys
	}
	if len(env) > 0 {
		vm["environment_variables"] = env
	}
	plugin := obj{"name": w.pluginName(), "vm_config": vm}
	if w.RootID != "" {
		plugin["root_id"] = w.RootID
	}
	if w.AllowOnHeadersStopIteration {
		plugin["allow_on_headers_stop_iteration"] = true
	}
	if w.Configuration != "" {
		if !json.Valid([]byte(w.Configuration)) {
			return nil, fmt.Errorf("wasm filter %q: Configuration is not valid JSON", w.filterName())
		}
		plugin["configuration"] = obj{
			"@type": "type.googleapis.com/google.protobuf.StringValue",
			"value": w.Configuration,
		}
	}
	return obj{
		"name": w.filterName(),
		"typed_config": obj{
			"@type":  "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
			"config": plugin,
		},
	}, nil
}

func (r RawFilter) filterName() string {
	var f struct{ Name string }
	_ = json.Unmarshal([]byte(r), &f)
	return f.Name
}

func (r RawFilter) filterJSON() (any, error) {
	if !json.Valid([]byte(r)) {
		return nil, errors.New("raw filter is not valid JSON")
	}
	if r.filterName() == "" {
		return nil, errors.New("raw filter has no name")
	}
	return json.RawMessage(r), nil
}

type obj = map[string]any

// Render returns the Envoy bootstrap for cfg as YAML: each top-level section
// is JSON (which YAML accepts), followed by the stats_tags fragment. Admin
// and listeners bind 127.0.0.1 port 0; Start learns the ports from Envoy.
func Render(cfg Config) ([]byte, error) {
	tags := cfg.StatsTags
	if tags == "" {
		path, err := StatsTagsPath()
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading stats tags: %w", err)
		}
		tags = string(b)
	}
	listeners, err := renderListeners(cfg)
	if err != nil {
		return nil, err
	}
	clusters := make([]any, 0, len(cfg.Clusters))
	for _, c := range cfg.Clusters {
		cc, err := renderCluster(c)
		if err != nil {
			return nil, err
		}
		clusters = append(clusters, cc)
	}
	sections := []struct {
		key   string
		value any
	}{
		{"node", obj{"id": "steadfast-e2e", "cluster": "steadfast-e2e"}},
		{"admin", obj{"address": loopback(0)}},
		{"static_resources", obj{"listeners": listeners, "clusters": clusters}},
	}
	var out bytes.Buffer
	out.WriteString("# Envoy bootstrap rendered by the steadfast e2e harness.\n")
	for _, s := range sections {
		b, err := json.MarshalIndent(s.value, "  ", "  ")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&out, "%s: %s\n", s.key, b)
	}
	out.WriteString(tags)
	if !strings.HasSuffix(tags, "\n") {
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// listenerNames returns the names Render gives cfg's listeners, in order.
func listenerNames(cfg Config) []string {
	ls := cfg.Listeners
	if len(ls) == 0 {
		ls = []Listener{{}}
	}
	names := make([]string, len(ls))
	for i, l := range ls {
		switch {
		case l.Name != "":
			names[i] = l.Name
		case i == 0:
			names[i] = "main"
		default:
			names[i] = fmt.Sprintf("main_%d", i)
		}
	}
	return names
}

func renderListeners(cfg Config) ([]any, error) {
	ls := cfg.Listeners
	if len(ls) == 0 {
		ls = []Listener{{}}
	}
	names := listenerNames(cfg)
	out := make([]any, 0, len(ls))
	for i, l := range ls {
		routes := l.Routes
		if len(routes) == 0 {
			if len(cfg.Clusters) == 0 {
				return nil, fmt.Errorf("listener %q has no routes and the config has no cluster to route to", names[i])
			}
			routes = []Route{{Name: "default", Cluster: cfg.Clusters[0].Name}}
		}
		rendered := make([]any, 0, len(routes))
		for _, r := range routes {
			rr, err := renderRoute(r)
			if err != nil {
				return nil, fmt.Errorf("listener %q: %w", names[i], err)
			}
			rendered = append(rendered, rr)
		}
		filters := make([]any, 0, len(l.Filters)+1)
		for _, f := range l.Filters {
			ff, err := f.filterJSON()
			if err != nil {
				return nil, fmt.Errorf("listener %q: %w", names[i], err)
			}
			filters = append(filters, ff)
		}
		filters = append(filters, obj{
			"name":         "envoy.filters.http.router",
			"typed_config": obj{"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
		})
		hcm := obj{
			"@type":       "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
			"stat_prefix": "ingress_" + names[i],
			"codec_type":  "AUTO",
			"route_config": obj{
				"name": "local",
				"virtual_hosts": []any{obj{
					"name":    "local",
					"domains": []string{"*"},
					"routes":  rendered,
				}},
			},
			"http_filters": filters,
		}
		if l.AccessLog != "" {
			hcm["access_log"] = []any{obj{
				"name": "envoy.access_loggers.file",
				"typed_config": obj{
					"@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
					"path":  accessLogPath(cfg, names[i]),
					"log_format": obj{"text_format_source": obj{
						"inline_string": strings.TrimSuffix(l.AccessLog, "\n") + "\n",
					}},
				},
			}}
		}
		listener := obj{
			"name":    names[i],
			"address": loopback(0),
			"filter_chains": []any{obj{"filters": []any{obj{
				"name":         "envoy.filters.network.http_connection_manager",
				"typed_config": hcm,
			}}}},
		}
		if l.BufferLimitBytes > 0 {
			listener["per_connection_buffer_limit_bytes"] = l.BufferLimitBytes
		}
		out = append(out, listener)
	}
	return out, nil
}

func renderRoute(r Route) (any, error) {
	prefix := r.Prefix
	if prefix == "" {
		prefix = "/"
	}
	out := obj{"match": obj{"prefix": prefix}}
	if r.Name != "" {
		out["name"] = r.Name
	}
	switch {
	case r.DirectResponse != nil && r.Cluster != "":
		return nil, fmt.Errorf("route %q has both a cluster and a direct response", r.Name)
	case r.DirectResponse != nil:
		dr := obj{"status": r.DirectResponse.Status}
		if r.DirectResponse.Body != "" {
			dr["body"] = obj{"inline_string": r.DirectResponse.Body}
		}
		out["direct_response"] = dr
	case r.Cluster != "":
		action := obj{"cluster": r.Cluster}
		switch {
		case r.Timeout < 0:
			action["timeout"] = "0s"
		case r.Timeout > 0:
			action["timeout"] = duration(r.Timeout)
		}
		if r.RetryOn != "" {
			policy := obj{"retry_on": r.RetryOn, "num_retries": r.NumRetries}
			if r.RetryBackOff > 0 {
				policy["retry_back_off"] = obj{"base_interval": duration(r.RetryBackOff), "max_interval": duration(r.RetryBackOff)}
			}
			action["retry_policy"] = policy
		}
		out["route"] = action
	default:
		return nil, fmt.Errorf("route %q has neither a cluster nor a direct response", r.Name)
	}
	if len(r.DisableFilters) > 0 {
		per := obj{}
		for _, name := range r.DisableFilters {
			per[name] = obj{"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": true}
		}
		out["typed_per_filter_config"] = per
	}
	return out, nil
}

func renderCluster(c Cluster) (any, error) {
	host, p, err := net.SplitHostPort(c.Address)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %w", c.Name, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: port %q: %w", c.Name, p, err)
	}
	out := obj{
		"name":            c.Name,
		"type":            "STATIC",
		"connect_timeout": "1s",
		"load_assignment": obj{
			"cluster_name": c.Name,
			"endpoints": []any{obj{"lb_endpoints": []any{obj{
				"endpoint": obj{"address": obj{"socket_address": obj{"address": host, "port_value": port}}},
			}}}},
		},
	}
	if c.HTTP2 {
		out["typed_extension_protocol_options"] = obj{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": obj{
				"@type":                "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
				"explicit_http_config": obj{"http2_protocol_options": obj{}},
			},
		}
	}
	return out, nil
}

func loopback(port int) obj {
	return obj{"socket_address": obj{"address": "127.0.0.1", "port_value": port}}
}

func duration(d time.Duration) string {
	return fmt.Sprintf("%gs", d.Seconds())
}
