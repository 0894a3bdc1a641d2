package main

// Where the settings shared by every command come from: a flag beats the
// environment, which beats the profile, which beats the default. The config file
// holds named profiles, never a token: a config file gets copied, shared and backed
// up, so a profile names a token file (mode 0600) instead.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
)

// config is the JSON config file, os.UserConfigDir()/ymchat/config.json.
type config struct {
	// Default is the profile used when neither --profile nor YM_PROFILE names one.
	Default string `json:"default,omitempty"`
	// Profiles are the named profiles.
	Profiles map[string]profile `json:"profiles"`
}

// profile is one named set of settings.
type profile struct {
	Business  int64  `json:"business,omitempty"`
	BaseURL   string `json:"baseUrl,omitempty"`
	TokenFile string `json:"tokenFile,omitempty"`
	Redis     string `json:"redis,omitempty"`
	// Token is read only to refuse it: a token does not belong in the config.
	Token string `json:"token,omitempty"`
}

// configExample is the config file's form, for help and errors.
const configExample = `  {
    "default": "shop",
    "profiles": {
      "shop": {"business": 123456, "tokenFile": "shop.token"},
      "local": {"business": 100, "baseUrl": "http://127.0.0.1:8765",
                "tokenFile": "fake.token", "redis": "redis://127.0.0.1:6379/0"}
    }
  }`

// configPath is where the config file is, or "" when there is no config directory.
func configPath(e *env) string {
	if e.configDir == nil {
		return ""
	}
	dir, err := e.configDir()
	if err != nil || dir == "" {
		return ""
	}
	return filepath.Join(dir, "ymchat", "config.json")
}

// loadConfig reads the config file; none is an empty config.
func loadConfig(path string) (*config, error) {
	cfg := &config{}
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, usagef("config: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, usagef("config %s: %v; the form is\n%s", path, err, configExample)
	}
	for name, p := range cfg.Profiles {
		if p.Token != "" {
			return nil, usagef(`config %s: profile %q holds a token: move it to a file of its own (chmod 600) and name that file with "tokenFile"`, path, name)
		}
		if p.TokenFile != "" && !filepath.IsAbs(p.TokenFile) {
			// Relative to the config file, so that the two can live together.
			p.TokenFile = filepath.Join(filepath.Dir(path), p.TokenFile)
			cfg.Profiles[name] = p
		}
	}
	return cfg, nil
}

// setting is a value and where it came from ("--business", "YM_BUSINESS_ID",
// `profile "shop"`); both empty when nothing set it.
type setting struct{ value, from string }

// settings are the values the shared flags resolve to.
type settings struct {
	profile                             string
	business, baseURL, tokenFile, redis setting
}

// resolve works out each shared setting from the flags, the environment and the
// profile, in that order.
func (o *options) resolve(cmd *cobra.Command, e *env) (settings, error) {
	var s settings
	cfg, err := loadConfig(configPath(e))
	if err != nil {
		return s, err
	}
	name, nameFrom := o.profileFlag, "--profile"
	if !cmd.Flags().Changed("profile") {
		name, nameFrom = e.getenv("YM_PROFILE"), "YM_PROFILE"
		if name == "" {
			name, nameFrom = cfg.Default, "the config's default"
		}
	}
	var p profile
	if name != "" {
		var ok bool
		if p, ok = cfg.Profiles[name]; !ok {
			return s, usagef("no profile %q (from %s) in %s: ymchat profiles lists them", name, nameFrom, configPath(e))
		}
	}
	s.profile = name
	from := fmt.Sprintf("profile %q", name)
	pick := func(flag, envVar, fromProfile string) setting {
		if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
			return setting{f.Value.String(), "--" + flag}
		}
		if v := strings.TrimSpace(e.getenv(envVar)); v != "" {
			return setting{v, envVar}
		}
		if fromProfile != "" {
			return setting{fromProfile, from}
		}
		return setting{}
	}
	business := ""
	if p.Business != 0 {
		business = fmt.Sprint(p.Business)
	}
	s.business = pick("business", "YM_BUSINESS_ID", business)
	s.baseURL = pick("base-url", "YM_BASE_URL", p.BaseURL)
	s.tokenFile = pick("token-file", "", p.TokenFile)
	s.redis = pick("redis", "YM_REDIS_URL", p.Redis)
	return s, nil
}

// apply puts the resolved settings into o.
func (o *options) apply(s settings) error {
	o.baseURL = s.baseURL.value
	o.tokenFile, o.tokenFileFrom = s.tokenFile.value, s.tokenFile.from
	o.redisURL, o.redisFrom = s.redis.value, s.redis.from
	if s.business.value != "" {
		id, err := parseID(s.business.from, s.business.value)
		if err != nil {
			return err
		}
		o.business = id
	}
	return o.parseRedis()
}

// checkTokenFile refuses a token file others can read, as ssh refuses such a key: a
// token readable by every user of the machine is a token given away.
func checkTokenFile(path, from string, info fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil // modes mean nothing there; ACLs guard the file
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return usagef("token file %s (%s) can be read by others (mode %04o): chmod 600 %s", path, from, perm, path)
	}
	return nil
}

// helpSources notes in the help of the shared flags where each value comes from now,
// once, in place of pflag's "(default ...)".
func (o *options) helpSources(cmd *cobra.Command, e *env) {
	s, err := o.resolve(cmd, e)
	if err != nil {
		return
	}
	note := func(flag, base string, st setting, show bool) {
		f := cmd.Flags().Lookup(flag)
		if f == nil {
			return
		}
		f.DefValue = ""
		f.Usage = base
		switch {
		case st.from == "" && flag == "base-url":
			f.Usage += " (default " + chatclient.DefaultBaseURL + ")"
		case st.from == "":
		case show:
			f.Usage += fmt.Sprintf(" (now %s, from %s)", st.value, st.from)
		default:
			f.Usage += fmt.Sprintf(" (now set by %s)", st.from)
		}
	}
	note("business", usageBusiness, s.business, true)
	note("base-url", usageBaseURL, s.baseURL, true)
	note("token-file", usageTokenFile, s.tokenFile, true)
	note("redis", usageRedis, s.redis, false) // a Redis URL may hold a password
}
