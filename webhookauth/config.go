package webhookauth

import (
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"hash"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/internal/strfmt"
)

// Scheme names, the values of the "scheme" field.
const (
	SchemeStripe   = "stripe"
	SchemeGitHub   = "github"
	SchemeSlack    = "slack"
	SchemeShopify  = "shopify"
	SchemeStandard = "standard"
	SchemeTwilio   = "twilio"
	SchemeHMAC     = "hmac"
)

// Defaults and limits of the configuration.
const (
	// DefaultTolerance is how far a signed timestamp may lie in the past or
	// the future; it is the tolerance Stripe, Slack and Standard Webhooks
	// recommend.
	DefaultTolerance = 5 * time.Minute
	// MaxTolerance bounds tolerance: a longer one lets a captured delivery
	// be replayed for longer and needs a larger replay cache.
	MaxTolerance = time.Hour

	// DefaultMaxBodyBytes bounds the body the filter buffers to verify.
	DefaultMaxBodyBytes = 1 << 20
	// MaxBodyBytesLimit is the largest max_body_bytes accepted.
	MaxBodyBytesLimit = 64 << 20
	// DefaultBodyTimeout bounds how long the filter waits for the whole
	// body while it holds the request back; then it answers 408.
	DefaultBodyTimeout = 10 * time.Second
	// MinBodyTimeout and MaxBodyTimeout bound body_timeout.
	MinBodyTimeout = 100 * time.Millisecond
	MaxBodyTimeout = 5 * time.Minute

	// DefaultFailureStatus is the status of the local reply to a delivery
	// that fails verification.
	DefaultFailureStatus = 401

	// DefaultVerifiedHeader is the request header added to a verified
	// delivery, so the application can tell the filter ran.
	DefaultVerifiedHeader = "x-steadfast-webhook-verified"

	// DefaultReplayCacheSize is how many verified deliveries the replay
	// cache remembers, across all workers.
	DefaultReplayCacheSize = 10000
	// MinReplayCacheSize and MaxReplayCacheSize bound replay.cache_size.
	MinReplayCacheSize = 100
	MaxReplayCacheSize = 1_000_000

	// DefaultReplayWindow is how long a delivery of a scheme without a
	// signed timestamp is remembered. Schemes with one remember a delivery
	// until its timestamp leaves the tolerance.
	DefaultReplayWindow = 5 * time.Minute
	// MaxReplayWindow bounds replay.window.
	MaxReplayWindow = 24 * time.Hour

	// ReplayKeySignature, the default replay.key, recognises a replay by
	// what its provider signed: the signed timestamp and id, if any, and
	// the signed content.
	ReplayKeySignature = "signature"
	// ReplayKeyHeaderPrefix starts a replay.key that names a signed
	// delivery-id header instead: "header:webhook-id" (or svix-id) for the
	// standard scheme, "header:<hmac.id_header>" for hmac.
	ReplayKeyHeaderPrefix = "header:"

	// MaxHeaderBytes bounds every header the filter parses; a longer one
	// is malformed.
	MaxHeaderBytes = 8 << 10
	// MaxSignatures bounds the signatures one delivery may carry; more
	// are malformed.
	MaxSignatures = 16
)

// Config is the webhookauth configuration of one route. Parse fills and
// validates it; ResolveSecrets must then read its secrets before Verify can
// accept anything. A Config is read-only afterwards and safe to share.
type Config struct {
	// Scheme is the signing scheme: stripe, github, slack, shopify,
	// standard, twilio or hmac. Required.
	Scheme string `json:"scheme"`
	// Secrets are the signing secrets; a delivery signed with any of them
	// is accepted, so a secret can be rotated without downtime. At least
	// one is required, except that the standard scheme may use only
	// PublicKeys.
	Secrets []Secret `json:"secrets"`
	// PublicKeys are Ed25519 public keys ("whpk_" and base64) that verify
	// Standard Webhooks "v1a" signatures. Only for the standard scheme.
	PublicKeys []Secret `json:"public_keys"`
	// Tolerance is how far a signed timestamp may be from now, past or
	// future. Absent: DefaultTolerance.
	Tolerance *pipeline.Duration `json:"tolerance"`
	// MaxBodyBytes bounds the body; a larger one is refused (too_large).
	// Zero: DefaultMaxBodyBytes.
	MaxBodyBytes int `json:"max_body_bytes"`
	// BodyTimeout bounds the wait for the whole body. Absent:
	// DefaultBodyTimeout.
	BodyTimeout *pipeline.Duration `json:"body_timeout"`
	// FailureStatus is the status of the reply to a refused delivery,
	// 400 to 499. Zero: DefaultFailureStatus.
	FailureStatus int `json:"failure_status"`
	// StripSignatureHeaders removes the signature headers from a verified
	// delivery before it goes upstream.
	StripSignatureHeaders bool `json:"strip_signature_headers"`
	// VerifiedHeader names the header added to verified deliveries. Absent:
	// DefaultVerifiedHeader; "": none is added (copies sent by the client
	// are removed either way).
	VerifiedHeader *string `json:"verified_header"`
	// Replay configures the cache that refuses a delivery seen before.
	Replay ReplayConfig `json:"replay"`
	// GitHub holds the options of the github scheme.
	GitHub *GitHubConfig `json:"github"`
	// Twilio holds the options of the twilio scheme.
	Twilio *TwilioConfig `json:"twilio"`
	// HMAC describes the generic hmac scheme; required for it.
	HMAC *HMACConfig `json:"hmac"`

	// Derived by Validate from the fields above.
	settings     Settings
	sigHeaders   []string
	replayHeader string    // "" when replays are keyed on the signed content
	generic      *hmacSpec // scheme hmac
	twilioURL    string    // scheme twilio: the configured URL, or ""
	allowSHA1    bool      // scheme github

	// Set by ResolveSecrets. Behind a pointer so that formatting a Config
	// with %v prints an address, never key material.
	keys *keyring
}

// Secret names where a secret (or a public key) comes from: exactly one of
// an environment variable of the VM or, for tests only, an inline value.
//
// The inline value is unexported and behind a pointer: fmt prints a
// pointer inside a struct as an address, so no verb shows the value, not
// even one that String and GoString do not serve, such as %d.
type Secret struct {
	// Env is the name of the environment variable holding the secret.
	Env string `json:"env"`
	// inline is the JSON field "value", the secret itself. Unsafe outside
	// tests: the configuration is visible in Envoy's config dump.
	inline *string
}

// value is the inline secret, or "".
func (s Secret) value() string {
	if s.inline == nil {
		return ""
	}
	return *s.inline
}

// ReplayConfig configures replay protection.
type ReplayConfig struct {
	// Enabled turns replay protection on or off. Absent: on.
	Enabled *bool `json:"enabled"`
	// CacheSize is how many deliveries are remembered, from
	// MinReplayCacheSize to MaxReplayCacheSize. Zero: DefaultReplayCacheSize.
	CacheSize int `json:"cache_size"`
	// Window is how long a delivery is remembered, for schemes without a
	// signed timestamp only (github, shopify, twilio, hmac without
	// timestamp_header); the others remember a delivery for as long as
	// its timestamp is within tolerance. Absent: DefaultReplayWindow.
	Window *pipeline.Duration `json:"window"`
	// Key is what identifies a delivery: "signature" (the default), what
	// the provider signed; or "header:<name>", a delivery id, so that a
	// redelivery signed afresh with the same id is refused too. Only an id
	// the signature covers may be named (standard: webhook-id or svix-id,
	// either meaning the signed id; hmac: its id_header): a replay could
	// change any other header.
	Key string `json:"key"`
	// Store is where deliveries are remembered: "local" (the default),
	// this proxy's shared data; or "etcd", an etcd cluster every replica
	// shares, configured by Etcd.
	Store string `json:"store"`
	// Etcd configures the etcd store; required with store "etcd".
	Etcd *EtcdConfig `json:"etcd"`
}

// GitHubConfig holds the options of the github scheme.
type GitHubConfig struct {
	// AllowSHA1 accepts the legacy X-Hub-Signature (HMAC-SHA1) header when
	// X-Hub-Signature-256 is absent.
	AllowSHA1 bool `json:"allow_sha1"`
}

// TwilioConfig holds the options of the twilio scheme.
type TwilioConfig struct {
	// URL is the webhook URL as configured at Twilio, without its query
	// string (the request's query string is appended). Absent: the URL is
	// rebuilt from x-forwarded-proto (or :scheme), :authority and :path,
	// which is right only if no proxy in front rewrites them.
	URL string `json:"url"`
}

// HMACConfig describes a generic HMAC signature.
type HMACConfig struct {
	// Header is the header carrying the signature. Required.
	Header string `json:"header"`
	// Prefix precedes the encoded signature in the header, such as
	// "sha256=". Absent: none.
	Prefix string `json:"prefix"`
	// Algorithm is sha1, sha256 or sha512. Absent: sha256.
	Algorithm string `json:"algorithm"`
	// Encoding of the signature: hex (either case) or base64 (canonical).
	// Absent: hex.
	Encoding string `json:"encoding"`
	// TimestampHeader names a header with the signing time in Unix
	// seconds; it must then be signed through {timestamp}.
	TimestampHeader string `json:"timestamp_header"`
	// IDHeader names a header with a delivery id; it must then be signed
	// through {id}.
	IDHeader string `json:"id_header"`
	// Template is the signed content: text with the placeholders {id},
	// {timestamp}, {method}, {path} (with the query string) and {body},
	// which it must contain once. Absent: "{body}".
	Template string `json:"template"`
}

// Settings are the effective values of a validated Config, defaults
// applied; the stage reads them.
type Settings struct {
	Scheme                string
	Tolerance             time.Duration
	MaxBodyBytes          int
	BodyTimeout           time.Duration
	FailureStatus         int
	VerifiedHeader        string // "" when no marker is added
	StripSignatureHeaders bool
	Replay                bool
	ReplayCacheSize       int
	// ReplayWindow is replay.window, or the tolerance for schemes with a
	// signed timestamp, whose deliveries are remembered until timestamp +
	// tolerance (Verdict.Expires).
	ReplayWindow time.Duration
	// Etcd is the etcd store's settings with replay.store "etcd"; nil
	// with the local store.
	Etcd *EtcdSettings
}

// keyring is the key material read by ResolveSecrets.
type keyring struct {
	secrets [][]byte
	public  []ed25519.PublicKey
}

// Parse decodes and validates the webhookauth configuration, with its
// per-route overrides. Secrets are not read yet: call ResolveSecrets on
// every configuration (Routes.Each) before verifying.
func Parse(data []byte) (*pipeline.Routes[Config], error) {
	return pipeline.ParseRoutes[Config](data)
}

// DecodeJSON reads the configuration's fields.
func (c *Config) DecodeJSON(f *pipeline.Fields) {
	f.String("scheme", &c.Scheme)
	pipeline.ValueList(f, "secrets", &c.Secrets, decodeSecret)
	pipeline.ValueList(f, "public_keys", &c.PublicKeys, decodeSecret)
	f.DurationPtr("tolerance", &c.Tolerance)
	f.Int("max_body_bytes", &c.MaxBodyBytes)
	f.DurationPtr("body_timeout", &c.BodyTimeout)
	f.Int("failure_status", &c.FailureStatus)
	f.Bool("strip_signature_headers", &c.StripSignatureHeaders)
	f.StringPtr("verified_header", &c.VerifiedHeader)
	f.Object("replay", &c.Replay)
	pipeline.ObjectPtr(f, "github", &c.GitHub)
	pipeline.ObjectPtr(f, "twilio", &c.Twilio)
	pipeline.ObjectPtr(f, "hmac", &c.HMAC)
}

// decodeSecret decodes an element of a list of secrets; null is the zero
// Secret, which Validate refuses.
func decodeSecret(v pipeline.Value, s *Secret) error {
	if v.IsNull() {
		return nil
	}
	return pipeline.DecodeValue(v, "", s)
}

// DecodeJSON reads the secret's source.
func (s *Secret) DecodeJSON(f *pipeline.Fields) {
	f.String("env", &s.Env)
	f.Value("value", func(v pipeline.Value) error {
		if v.IsNull() {
			return nil
		}
		inline, err := v.Str()
		if err == nil {
			s.inline = &inline
		}
		return err
	})
}

// DecodeJSON reads the replay options.
func (r *ReplayConfig) DecodeJSON(f *pipeline.Fields) {
	f.BoolPtr("enabled", &r.Enabled)
	f.Int("cache_size", &r.CacheSize)
	f.DurationPtr("window", &r.Window)
	f.String("key", &r.Key)
	f.String("store", &r.Store)
	pipeline.ObjectPtr(f, "etcd", &r.Etcd)
}

// DecodeJSON reads the github options.
func (g *GitHubConfig) DecodeJSON(f *pipeline.Fields) { f.Bool("allow_sha1", &g.AllowSHA1) }

// DecodeJSON reads the twilio options.
func (t *TwilioConfig) DecodeJSON(f *pipeline.Fields) { f.String("url", &t.URL) }

// DecodeJSON reads the hmac scheme's description.
func (h *HMACConfig) DecodeJSON(f *pipeline.Fields) {
	f.String("header", &h.Header)
	f.String("prefix", &h.Prefix)
	f.String("algorithm", &h.Algorithm)
	f.String("encoding", &h.Encoding)
	f.String("timestamp_header", &h.TimestampHeader)
	f.String("id_header", &h.IDHeader)
	f.String("template", &h.Template)
}

// Settings returns the effective settings, defaults applied. Valid after
// Validate.
func (c *Config) Settings() Settings { return c.settings }

// SignatureHeaders lists the lower-case names of the headers that carry
// the signature, which strip_signature_headers removes from a verified
// delivery. Ids and timestamps stay: applications use them.
func (c *Config) SignatureHeaders() []string { return c.sigHeaders }

// Validate checks the configuration and derives its effective settings.
// It returns FieldErrors with paths from the configuration's root.
func (c *Config) Validate() error {
	if err := c.validateScheme(); err != nil {
		return err
	}
	if err := c.validateKeys(); err != nil {
		return err
	}
	s := Settings{
		Scheme:                c.Scheme,
		Tolerance:             DefaultTolerance,
		MaxBodyBytes:          DefaultMaxBodyBytes,
		BodyTimeout:           DefaultBodyTimeout,
		FailureStatus:         DefaultFailureStatus,
		VerifiedHeader:        DefaultVerifiedHeader,
		StripSignatureHeaders: c.StripSignatureHeaders,
	}
	if c.Tolerance != nil {
		s.Tolerance = c.Tolerance.Std()
		if s.Tolerance < time.Second || s.Tolerance > MaxTolerance {
			return pipeline.Errorf("tolerance", "must be between 1s and %s", MaxTolerance)
		}
	}
	switch {
	case c.MaxBodyBytes < 0 || c.MaxBodyBytes > MaxBodyBytesLimit:
		return pipeline.Errorf("max_body_bytes", "must be between 1 and %d (64 MiB)", MaxBodyBytesLimit)
	case c.MaxBodyBytes > 0:
		s.MaxBodyBytes = c.MaxBodyBytes
	}
	if c.BodyTimeout != nil {
		s.BodyTimeout = c.BodyTimeout.Std()
		if s.BodyTimeout < MinBodyTimeout || s.BodyTimeout > MaxBodyTimeout {
			return pipeline.Errorf("body_timeout", "must be between %s and %s", MinBodyTimeout, MaxBodyTimeout)
		}
	}
	switch {
	case c.FailureStatus == 0:
	case c.FailureStatus < 400 || c.FailureStatus > 499:
		return pipeline.Errorf("failure_status", "must be a 4xx status, from 400 to 499")
	default:
		s.FailureStatus = c.FailureStatus
	}
	if c.VerifiedHeader != nil {
		s.VerifiedHeader = strings.ToLower(*c.VerifiedHeader)
		if s.VerifiedHeader != "" && !validHeaderName(s.VerifiedHeader) {
			return pipeline.Errorf("verified_header", "%q is not a header name", *c.VerifiedHeader)
		}
	}
	if err := c.validateReplay(&s); err != nil {
		return err
	}
	c.settings = s
	return nil
}

func (c *Config) validateScheme() error {
	c.generic, c.twilioURL, c.allowSHA1 = nil, "", false
	switch c.Scheme {
	case SchemeStripe, SchemeGitHub, SchemeSlack, SchemeShopify, SchemeStandard, SchemeTwilio, SchemeHMAC:
	case "":
		return pipeline.Errorf("scheme", "is required: one of stripe, github, slack, shopify, standard, twilio, hmac")
	default:
		return pipeline.Errorf("scheme", "%q is not a scheme: use one of stripe, github, slack, shopify, standard, twilio, hmac", c.Scheme)
	}
	for _, b := range []struct {
		name, scheme string
		set          bool
	}{
		{"github", SchemeGitHub, c.GitHub != nil},
		{"twilio", SchemeTwilio, c.Twilio != nil},
		{"hmac", SchemeHMAC, c.HMAC != nil},
	} {
		if b.set && c.Scheme != b.scheme {
			return pipeline.Errorf(b.name, "applies only to scheme %q, not %q", b.scheme, c.Scheme)
		}
	}
	switch c.Scheme {
	case SchemeStripe:
		c.sigHeaders = []string{"stripe-signature"}
	case SchemeGitHub:
		c.sigHeaders = []string{"x-hub-signature-256", "x-hub-signature"}
		c.allowSHA1 = c.GitHub != nil && c.GitHub.AllowSHA1
	case SchemeSlack:
		c.sigHeaders = []string{"x-slack-signature"}
	case SchemeShopify:
		c.sigHeaders = []string{"x-shopify-hmac-sha256"}
	case SchemeStandard:
		c.sigHeaders = []string{"webhook-signature", "svix-signature"}
	case SchemeTwilio:
		c.sigHeaders = []string{"x-twilio-signature"}
		if c.Twilio != nil && c.Twilio.URL != "" {
			if err := validTwilioURL(c.Twilio.URL); err != nil {
				return pipeline.Errorf("twilio.url", "%s", err)
			}
			c.twilioURL = c.Twilio.URL
		}
	case SchemeHMAC:
		if c.HMAC == nil {
			return pipeline.Errorf("hmac.header", "is required for scheme hmac")
		}
		spec, err := c.HMAC.spec()
		if err != nil {
			return err
		}
		c.generic = spec
		c.sigHeaders = []string{spec.header}
	}
	return nil
}

func (c *Config) validateKeys() error {
	for i, s := range c.Secrets {
		path := pipeline.Index("secrets", i)
		if err := s.validate(path); err != nil {
			return err
		}
		if c.Scheme == SchemeStandard && s.value() != "" {
			if _, ok := decodeStandardSecret(s.value()); !ok {
				return pipeline.Errorf(pipeline.Join(path, "value"), "is not a Standard Webhooks secret (\"whsec_\" and base64)")
			}
		}
	}
	if len(c.PublicKeys) > 0 && c.Scheme != SchemeStandard {
		return pipeline.Errorf("public_keys", "apply only to scheme \"standard\" (Ed25519 v1a signatures)")
	}
	for i, s := range c.PublicKeys {
		path := pipeline.Index("public_keys", i)
		if err := s.validate(path); err != nil {
			return err
		}
		if s.value() != "" {
			if _, ok := decodePublicKey(s.value()); !ok {
				return pipeline.Errorf(pipeline.Join(path, "value"), "is not an Ed25519 public key (\"whpk_\" and the base64 of 32 bytes)")
			}
		}
	}
	switch {
	case c.Scheme == SchemeStandard && len(c.Secrets)+len(c.PublicKeys) == 0:
		return pipeline.Errorf("secrets", "give at least one secret or public key, such as {\"env\": \"WEBHOOK_SECRET\"}")
	case c.Scheme != SchemeStandard && len(c.Secrets) == 0:
		return pipeline.Errorf("secrets", "give at least one secret, such as {\"env\": \"WEBHOOK_SECRET\"}")
	}
	return nil
}

func (s Secret) validate(path string) error {
	switch {
	case (s.Env == "") == (s.value() == ""):
		return pipeline.Errorf(path, "give exactly one of env or value")
	case s.Env != "" && strings.ContainsAny(s.Env, "= \t\r\n\x00"):
		return pipeline.Errorf(pipeline.Join(path, "env"), "%q is not an environment variable name", s.Env)
	}
	return nil
}

// timed reports whether the scheme signs a timestamp.
func (c *Config) timed() bool {
	switch c.Scheme {
	case SchemeStripe, SchemeSlack, SchemeStandard:
		return true
	case SchemeHMAC:
		return c.generic != nil && c.generic.tsHeader != ""
	}
	return false
}

func (c *Config) validateReplay(s *Settings) error {
	r := c.Replay
	s.Replay = r.Enabled == nil || *r.Enabled
	s.ReplayCacheSize = DefaultReplayCacheSize
	if r.CacheSize != 0 {
		if r.CacheSize < MinReplayCacheSize || r.CacheSize > MaxReplayCacheSize {
			return pipeline.Errorf("replay.cache_size", "must be between %d and %d", MinReplayCacheSize, MaxReplayCacheSize)
		}
		s.ReplayCacheSize = r.CacheSize
	}
	switch {
	case c.timed() && r.Window != nil:
		return pipeline.Errorf("replay.window", "scheme %q signs a timestamp: deliveries are remembered while it is within tolerance; set tolerance instead", c.Scheme)
	case c.timed():
		s.ReplayWindow = s.Tolerance
	case r.Window != nil:
		s.ReplayWindow = r.Window.Std()
		if s.ReplayWindow < time.Second || s.ReplayWindow > MaxReplayWindow {
			return pipeline.Errorf("replay.window", "must be between 1s and %s", MaxReplayWindow)
		}
	default:
		s.ReplayWindow = DefaultReplayWindow
	}
	c.replayHeader = ""
	switch {
	case r.Key == "" || r.Key == ReplayKeySignature:
	case strings.HasPrefix(r.Key, ReplayKeyHeaderPrefix):
		name := strings.ToLower(strings.TrimPrefix(r.Key, ReplayKeyHeaderPrefix))
		if !validHeaderName(name) {
			return pipeline.Errorf("replay.key", "%q does not name a header: use \"header:\" and a header name", r.Key)
		}
		if !c.signsID(name) {
			return pipeline.Errorf("replay.key", "%q: scheme %q does not sign %s, so a replay with another value would pass; "+
				"use \"signature\" (the default), or a signed id: webhook-id for standard, hmac.id_header for hmac", r.Key, c.Scheme, name)
		}
		c.replayHeader = name
	default:
		return pipeline.Errorf("replay.key", "%q is not a replay key: use \"signature\" or \"header:<name>\"", r.Key)
	}
	return r.validateStore(s)
}

// signsID reports whether header carries a delivery id the scheme signs.
func (c *Config) signsID(header string) bool {
	switch c.Scheme {
	case SchemeStandard:
		return header == standardHeaders[0][0] || header == standardHeaders[1][0]
	case SchemeHMAC:
		return c.generic != nil && c.generic.idHeader != "" && header == c.generic.idHeader
	}
	return false
}

// validTwilioURL checks twilio.url: an absolute http or https URL with a
// host, without credentials, query string or fragment. The URL is signed
// as written, so it must be spelt as Twilio sends it: no spaces, control
// characters or malformed percent escapes.
func validTwilioURL(raw string) error {
	if !urlChars(raw) {
		return strfmt.Errorf("%q is not a URL", raw)
	}
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		scheme, rest = "", raw
	}
	rest, hasExtra := cutAny(rest, "?#")
	authority, ok := strings.CutPrefix(rest, "//")
	if ok {
		authority, _, _ = strings.Cut(authority, "/")
	}
	host, hasUser := authority, false
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		host, hasUser = authority[i+1:], true
	}
	switch {
	case ok && !validURLHost(host):
		return strfmt.Errorf("%q is not a URL", raw)
	case !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "http") || !ok || host == "":
		return strfmt.Errorf("%q must be an absolute http or https URL", raw)
	case hasUser:
		return errors.New("must not contain credentials")
	case hasExtra:
		return strfmt.Errorf("%q must have no query string or fragment: the request's query string is appended", raw)
	}
	return nil
}

// cutAny returns s up to the first of the bytes in chars, and whether
// there is one.
func cutAny(s, chars string) (string, bool) {
	if i := strings.IndexAny(s, chars); i >= 0 {
		return s[:i], true
	}
	return s, false
}

// urlChars reports whether s has no control character or space, and only
// well-formed percent escapes.
func urlChars(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f:
			return false
		case c == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])):
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	_, ok := unhex(c)
	return ok
}

// validURLHost reports whether host, with an optional port, is a host a
// URL may name: an empty one (rejected as missing by the caller), a name,
// an IPv4 address or a bracketed IPv6 address.
func validURLHost(host string) bool {
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		name, port = host[1:end], host[end+1:]
		if port != "" && port[0] != ':' || !strings.Contains(name, ":") {
			return false
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; !isHex(c) && c != ':' && c != '.' {
				return false
			}
		}
	} else {
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			name, port = host[:i], host[i:]
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if c < 0x80 && !isAlnum(c) && !strings.ContainsRune("-._~!$&'()*+,;=", rune(c)) {
				return false
			}
		}
	}
	for i := 1; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// validHeaderName reports whether s is a lower-case HTTP header name (not a
// pseudo-header).
func validHeaderName(s string) bool {
	return pipeline.IsToken(s) && strings.ToLower(s) == s
}

// ResolveSecrets reads every secret and public key: from the environment
// through lookup, or inline. Standard Webhooks secrets ("whsec_") and
// public keys ("whpk_") are base64-decoded; other schemes use a secret's
// bytes as they are. Errors name the field and the variable, never a value.
func (c *Config) ResolveSecrets(lookup func(name string) (string, bool)) error {
	if err := c.Validate(); err != nil {
		return err
	}
	kr := &keyring{}
	for i, s := range c.Secrets {
		path := pipeline.Index("secrets", i)
		raw, err := s.resolve(path, lookup)
		if err != nil {
			return err
		}
		key := []byte(raw)
		if c.Scheme == SchemeStandard {
			var ok bool
			if key, ok = decodeStandardSecret(raw); !ok {
				return s.decodeError(path, "a Standard Webhooks secret (\"whsec_\" and base64)")
			}
		}
		kr.secrets = append(kr.secrets, key)
	}
	for i, s := range c.PublicKeys {
		path := pipeline.Index("public_keys", i)
		raw, err := s.resolve(path, lookup)
		if err != nil {
			return err
		}
		pk, ok := decodePublicKey(raw)
		if !ok {
			return s.decodeError(path, "an Ed25519 public key (\"whpk_\" and the base64 of 32 bytes)")
		}
		kr.public = append(kr.public, pk)
	}
	c.keys = kr
	return nil
}

func (s Secret) resolve(path string, lookup func(string) (string, bool)) (string, error) {
	if s.value() != "" {
		return s.value(), nil
	}
	v, ok := "", false
	if lookup != nil {
		v, ok = lookup(s.Env)
	}
	if !ok || v == "" {
		return "", pipeline.Errorf(pipeline.Join(path, "env"), "environment variable %q is not set or is empty", s.Env)
	}
	return v, nil
}

func (s Secret) decodeError(path, what string) error {
	if s.value() != "" {
		return pipeline.Errorf(pipeline.Join(path, "value"), "is not %s", what)
	}
	return pipeline.Errorf(pipeline.Join(path, "env"), "environment variable %q does not hold %s", s.Env, what)
}

// decodeStandardSecret decodes a Standard Webhooks signing secret: base64,
// optionally after "whsec_".
func decodeStandardSecret(s string) ([]byte, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "whsec_")
	key, err := base64.StdEncoding.DecodeString(s)
	return key, err == nil && len(key) > 0
}

// decodePublicKey decodes a Standard Webhooks Ed25519 public key: the
// base64 of 32 bytes, optionally after "whpk_".
func decodePublicKey(s string) (ed25519.PublicKey, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "whpk_")
	key, err := base64.StdEncoding.DecodeString(s)
	return key, err == nil && len(key) == ed25519.PublicKeySize
}

// String describes the secret's source without its value.
func (s Secret) String() string {
	switch {
	case s.Env != "" && s.value() == "":
		return "env:" + s.Env
	case s.value() != "" && s.Env == "":
		return "value:(redacted)"
	}
	return "(invalid secret)"
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON keeps inline values out of JSON dumps.
func (s Secret) MarshalJSON() ([]byte, error) {
	if s.value() != "" {
		return []byte(`{"value":"(redacted)"}`), nil
	}
	b := pipeline.AppendJSONString([]byte(`{"env":`), s.Env)
	return append(b, '}'), nil
}

// String describes the configuration without any secret.
func (c Config) String() string {
	b := []byte("webhookauth scheme=")
	b = append(b, c.Scheme...)
	b = appendSecrets(append(b, " secrets="...), c.Secrets)
	if len(c.PublicKeys) > 0 {
		b = appendSecrets(append(b, " public_keys="...), c.PublicKeys)
	}
	s := c.settings
	b = strfmt.Append(b, " tolerance=%s max_body_bytes=%d failure_status=%d replay=%t",
		s.Tolerance, s.MaxBodyBytes, s.FailureStatus, s.Replay)
	return string(b)
}

// GoString is String, for %#v: no verb shows key material, which is
// behind pointers (keys, and each Secret's inline value) that fmt prints
// as addresses.
func (c Config) GoString() string { return c.String() }

// appendSecrets appends the sources of secrets as %v prints a list.
func appendSecrets(b []byte, secrets []Secret) []byte {
	b = append(b, '[')
	for i, s := range secrets {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s.String()...)
	}
	return append(b, ']')
}

// hmacSpec is a validated HMACConfig.
type hmacSpec struct {
	header, prefix     string
	newHash            func() hash.Hash
	size               int
	base64             bool
	tsHeader, idHeader string
	template           []templatePart
	needs              fieldSet
}

// A templatePart is literal text, or one field of the delivery when field
// is not fieldLiteral.
type templatePart struct {
	field   field
	literal string
}

type field uint8

const (
	fieldLiteral field = iota
	fieldID
	fieldTimestamp
	fieldMethod
	fieldPath
	fieldBody
)

type fieldSet uint8

func (s fieldSet) has(f field) bool { return s&(1<<f) != 0 }

var placeholders = map[string]field{
	"id": fieldID, "timestamp": fieldTimestamp, "method": fieldMethod, "path": fieldPath, "body": fieldBody,
}

func (h *HMACConfig) spec() (*hmacSpec, error) {
	s := &hmacSpec{prefix: h.Prefix}
	s.header = strings.ToLower(h.Header)
	switch {
	case h.Header == "":
		return nil, pipeline.Errorf("hmac.header", "is required for scheme hmac")
	case !validHeaderName(s.header):
		return nil, pipeline.Errorf("hmac.header", "%q is not a header name", h.Header)
	}
	switch h.Algorithm {
	case "sha256", "":
		s.newHash, s.size = newSHA256, sha256.Size
	case "sha1":
		s.newHash, s.size = sha1.New, sha1.Size
	case "sha512":
		s.newHash, s.size = sha512.New, sha512.Size
	default:
		return nil, pipeline.Errorf("hmac.algorithm", "%q is not supported: use sha1, sha256 or sha512", h.Algorithm)
	}
	switch h.Encoding {
	case "hex", "":
	case "base64":
		s.base64 = true
	default:
		return nil, pipeline.Errorf("hmac.encoding", "%q is not supported: use hex or base64", h.Encoding)
	}
	for _, hd := range []struct {
		path, value string
		dst         *string
	}{
		{"hmac.timestamp_header", h.TimestampHeader, &s.tsHeader},
		{"hmac.id_header", h.IDHeader, &s.idHeader},
	} {
		if hd.value == "" {
			continue
		}
		*hd.dst = strings.ToLower(hd.value)
		if !validHeaderName(*hd.dst) {
			return nil, pipeline.Errorf(hd.path, "%q is not a header name", hd.value)
		}
	}
	tmpl := h.Template
	if tmpl == "" {
		tmpl = "{body}"
	}
	var err error
	if s.template, s.needs, err = parseTemplate(tmpl); err != nil {
		return nil, pipeline.Errorf("hmac.template", "%s", err)
	}
	switch {
	case !s.needs.has(fieldBody):
		return nil, pipeline.Errorf("hmac.template", "must sign {body}, or a tampered body would pass")
	case bodies(s.template) > 1:
		return nil, pipeline.Errorf("hmac.template", "must sign {body} once: the body is hashed as it passes")
	case s.needs.has(fieldTimestamp) && s.tsHeader == "":
		return nil, pipeline.Errorf("hmac.timestamp_header", "is required: the template signs {timestamp}")
	case s.tsHeader != "" && !s.needs.has(fieldTimestamp):
		return nil, pipeline.Errorf("hmac.template", "must sign {timestamp}: an unsigned timestamp_header proves nothing")
	case s.needs.has(fieldID) && s.idHeader == "":
		return nil, pipeline.Errorf("hmac.id_header", "is required: the template signs {id}")
	case s.idHeader != "" && !s.needs.has(fieldID):
		return nil, pipeline.Errorf("hmac.template", "must sign {id}: an unsigned id_header proves nothing")
	}
	return s, nil
}

// bodies counts the {body} placeholders of a template.
func bodies(parts []templatePart) int {
	n := 0
	for _, p := range parts {
		if p.field == fieldBody {
			n++
		}
	}
	return n
}

// parseTemplate splits a signing template into literal text and
// placeholders. Every '{' starts a placeholder.
func parseTemplate(t string) ([]templatePart, fieldSet, error) {
	var parts []templatePart
	var needs fieldSet
	for t != "" {
		open := strings.IndexByte(t, '{')
		if open < 0 {
			parts = append(parts, templatePart{literal: t})
			break
		}
		if open > 0 {
			parts = append(parts, templatePart{literal: t[:open]})
		}
		end := strings.IndexByte(t[open:], '}')
		if end < 0 {
			return nil, 0, strfmt.Errorf("unclosed %q", t[open:])
		}
		name := t[open+1 : open+end]
		f, ok := placeholders[name]
		if !ok {
			return nil, 0, errors.New("unknown placeholder {" + name + "}: use {id}, {timestamp}, {method}, {path} or {body}")
		}
		parts = append(parts, templatePart{field: f})
		needs |= 1 << f
		t = t[open+end+1:]
	}
	return parts, needs, nil
}
