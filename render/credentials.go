package render

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rails.application.credentials (and Rails 8's Rails.app.credentials), read
// as Rails reads them: config/credentials/RAILS_ENV.yml.enc when it exists,
// with config/credentials/RAILS_ENV.key, else config/credentials.yml.enc
// with config/master.key; RAILS_MASTER_KEY wins over either key file. The
// file is ActiveSupport::EncryptedFile's: a MessageEncryptor message
// (aes-128-gcm, BASE64(data)--BASE64(iv)--BASE64(tag)) whose plaintext is
// the serialized YAML text. As in Rails (config.require_master_key off),
// no file or no key gives empty credentials: every lookup is nil.

// maxCredentialsSize bounds the encrypted file read.
const maxCredentialsSize = 1 << 20

// credentialFiles returns the encrypted file and key file Rails would use,
// relative to root.
func credentialFiles(root, env string) (content, key string) {
	perEnv := filepath.Join("config", "credentials", env+".yml.enc")
	if env != "" && !strings.ContainsAny(env, "/\x00") {
		if st, err := os.Stat(filepath.Join(root, perEnv)); err == nil && !st.IsDir() {
			return perEnv, filepath.Join("config", "credentials", env+".key")
		}
	}
	return filepath.Join("config", "credentials.yml.enc"), filepath.Join("config", "master.key")
}

// credentials evaluates Rails.application.credentials, once per render.
func (st *state) credentials(x *expr) (value, error) {
	if st.creds != nil {
		return *st.creds, nil
	}
	env, err := st.function(&expr{op: opFunc, fn: fRailsEnv})
	if err != nil {
		return value{}, err
	}
	root := st.root()
	content, keyFile := credentialFiles(root, env.s)
	v, err := st.loadCredentials(root, content, keyFile)
	if err != nil {
		return value{}, st.errorf(x.pos, "Rails.application.credentials: %v", err)
	}
	st.creds = &v
	return v, nil
}

func (st *state) loadCredentials(root, content, keyFile string) (value, error) {
	empty := value{k: kHash, h: &hash{}}
	key, keyFrom := "", ""
	if k, ok := st.env("RAILS_MASTER_KEY"); ok && k != "" {
		key, keyFrom = k, "RAILS_MASTER_KEY"
	} else if b, err := os.ReadFile(filepath.Join(root, keyFile)); err == nil {
		key, keyFrom = strings.TrimSpace(string(b)), keyFile
		st.remember(key, origin{file: keyFile})
	} else if !errors.Is(err, os.ErrNotExist) {
		return value{}, fmt.Errorf("reading %s: %v", keyFile, pathErr(err))
	}
	if key == "" {
		return empty, nil
	}
	data, err := os.ReadFile(filepath.Join(root, content))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return empty, nil
	case err != nil:
		return value{}, fmt.Errorf("reading %s: %v", content, pathErr(err))
	case len(data) > maxCredentialsSize:
		return value{}, fmt.Errorf("%s is larger than 1 MiB", content)
	}
	plain, err := decryptRailsMessage(data, key)
	if err != nil {
		return value{}, fmt.Errorf("%s does not decrypt with the key from %s: %v (Ruby raises ActiveSupport::MessageEncryptor::InvalidMessage here)", content, keyFrom, err)
	}
	text, err := deserializeRailsMessage(plain)
	if err != nil {
		return value{}, fmt.Errorf("%s: %v", content, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return value{}, fmt.Errorf("%s holds YAML that does not parse: %v", content, err)
	}
	if len(doc.Content) == 0 {
		return empty, nil // YAML.load("") is false: .presence || {}
	}
	v, err := st.credentialValue(doc.Content[0], content, 0)
	if err != nil {
		return value{}, fmt.Errorf("%s: %v", content, err)
	}
	if v.k != kHash {
		if v.truthy() && !(v.k == kStr && blankString(v.s)) {
			return value{}, fmt.Errorf("%s holds a %s, not a mapping (Ruby raises NoMethodError: deep_symbolize_keys)", content, v.rubyClass())
		}
		return empty, nil
	}
	return v, nil
}

func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// decryptRailsMessage opens MessageEncryptor's aes-128-gcm message with a
// key given as 32 hex digits, as [key].pack("H*") reads it.
func decryptRailsMessage(data []byte, hexKey string) ([]byte, error) {
	if len(hexKey) != 32 {
		return nil, fmt.Errorf("the key is %d characters; Rails' keys are 32 hexadecimal digits", len(hexKey))
	}
	key, err := hex.DecodeString(hexKey)
	if err != nil {
		return nil, fmt.Errorf("the key is not 32 hexadecimal digits")
	}
	parts := strings.Split(strings.TrimSpace(string(data)), "--")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not an encrypted message (want DATA--IV--TAG)")
	}
	var raw [3][]byte
	for i, p := range parts {
		if raw[i], err = base64.StdEncoding.Strict().DecodeString(p); err != nil {
			return nil, fmt.Errorf("not an encrypted message (part %d is not base64)", i+1)
		}
	}
	if len(raw[1]) != 12 || len(raw[2]) != 16 {
		return nil, fmt.Errorf("not an aes-128-gcm message (iv of %d bytes, tag of %d)", len(raw[1]), len(raw[2]))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, raw[1], append(raw[0], raw[2]...), nil)
	if err != nil {
		return nil, fmt.Errorf("wrong key, or the file was changed")
	}
	return plain, nil
}

// deserializeRailsMessage returns the text a credentials message carries:
// Marshal's dump of a String (every Rails version's EncryptedFile so far),
// or JSON's, bare or in the {"_rails": {"data": ...}} envelope of Rails
// 7.1's message metadata.
func deserializeRailsMessage(b []byte) (string, error) {
	if bytes.HasPrefix(b, []byte{4, 8}) {
		return unmarshalRubyString(b[2:])
	}
	var v any
	if err := json.Unmarshal(b, &v); err == nil {
		if env, ok := v.(map[string]any); ok {
			if r, ok := env["_rails"].(map[string]any); ok {
				v = r["data"]
			}
		}
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return "", fmt.Errorf("the decrypted content is not a serialized String (neither Marshal nor JSON)")
}

// unmarshalRubyString reads Marshal's String: an optional I (instance
// variables follow: the encoding), '"', the length, the bytes.
func unmarshalRubyString(b []byte) (string, error) {
	bad := errors.New("the decrypted content is not a Marshal-serialized String")
	if len(b) > 0 && b[0] == 'I' {
		b = b[1:]
	}
	if len(b) < 2 || b[0] != '"' {
		return "", bad
	}
	n, rest, ok := marshalLong(b[1:])
	if !ok || n < 0 || n > len(rest) {
		return "", bad
	}
	return string(rest[:n]), nil
}

// marshalLong reads Marshal's variable-length integer.
func marshalLong(b []byte) (int, []byte, bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	c := int(int8(b[0]))
	b = b[1:]
	switch {
	case c == 0:
		return 0, b, true
	case c >= 5:
		return c - 5, b, true
	case c <= -5:
		return c + 5, b, true
	case c > 0:
		if len(b) < c {
			return 0, nil, false
		}
		n := 0
		for i := c - 1; i >= 0; i-- {
			n = n<<8 | int(b[i])
		}
		return n, b[c:], true
	}
	return 0, nil, false // negative multi-byte lengths never occur here
}

// credentialValue converts parsed YAML to what YAML.load and
// deep_symbolize_keys give: String keys become Symbols.
func (st *state) credentialValue(n *yaml.Node, file string, depth int) (value, error) {
	if depth > 100 {
		return value{}, fmt.Errorf("nested deeper than 100 levels")
	}
	switch n.Kind {
	case yaml.AliasNode:
		return st.credentialValue(n.Alias, file, depth+1)
	case yaml.SequenceNode:
		out := value{k: kArr, a: make([]value, 0, len(n.Content))}
		for _, c := range n.Content {
			v, err := st.credentialValue(c, file, depth+1)
			if err != nil {
				return value{}, err
			}
			out.a = append(out.a, v)
		}
		return out, nil
	case yaml.MappingNode:
		h := &hash{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Tag == "!!merge" {
				return value{}, fmt.Errorf("line %d: merge keys (<<) are not supported in credentials", kn.Line)
			}
			k, err := st.credentialValue(kn, file, depth+1)
			if err != nil {
				return value{}, err
			}
			if k.k == kStr {
				k = value{k: kSym, s: k.s}
			}
			v, err := st.credentialValue(vn, file, depth+1)
			if err != nil {
				return value{}, err
			}
			h.set(k, v)
		}
		return value{k: kHash, h: h}, nil
	case yaml.ScalarNode:
		return st.credentialScalar(n, file)
	}
	return value{}, fmt.Errorf("line %d: unexpected YAML", n.Line)
}

// credentialScalar types a scalar as Psych (YAML 1.1) does for the kinds
// credentials hold; every String is remembered as a secret.
func (st *state) credentialScalar(n *yaml.Node, file string) (value, error) {
	plain := n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
	switch n.ShortTag() {
	case "!!null":
		return value{}, nil
	case "!!bool":
		return boolValue(strings.EqualFold(n.Value, "true")), nil
	case "!!int":
		s := strings.ReplaceAll(n.Value, "_", "")
		if i, ok := new(big.Int).SetString(s, 0); ok {
			return intValue(i), nil
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			return value{k: kFloat, f: f}, nil
		}
	case "!!str":
		if plain {
			switch n.Value {
			case "yes", "Yes", "YES", "on", "On", "ON":
				return boolValue(true), nil
			case "no", "No", "NO", "off", "Off", "OFF":
				return boolValue(false), nil
			}
		}
		st.remember(n.Value, origin{file: file})
		return strValue(n.Value), nil
	}
	return value{}, fmt.Errorf("line %d: %s %q is not supported in credentials (use a quoted string)", n.Line, n.ShortTag(), n.Value)
}

// credentialBang is OrderedOptions#name!: the value, or KeyError when it
// is blank.
func (st *state) credentialBang(x *expr, recv, key value) (value, error) {
	var v value
	if recv.k == kHash {
		v, _ = recv.h.get(key)
	}
	if blank(v) {
		return value{}, st.errorf(x.pos, ":%s is blank (Ruby raises KeyError here)", key.s)
	}
	return v, nil
}

// parseCredentials parses Rails.application.credentials (or Rails.app's),
// the parser standing after "Rails".
func (p *parser) parseCredentials(start int, app string) *expr {
	p.i += len("Rails.") + len(app)
	if p.peek() != '.' || p.wordAt(p.i+1) != "credentials" {
		what := "Rails." + app
		if n := p.wordAt(p.i + 1); p.peek() == '.' && n != "" {
			what += "." + n
		}
		p.unsupported(start, what, "of Rails."+app+" entry knows credentials only; use ENV[...]")
	}
	p.i += len(".credentials")
	x := &expr{op: opFunc, fn: fRailsCredentials, pos: p.seg.srcOffset(start), src: p.s[start:p.i], options: true}
	return x
}

// optionsAccess parses credentials.name (the key :name) and
// credentials.name! (KeyError when blank), the name already read.
func (p *parser) optionsAccess(start, nameAt int, recv *expr, name string) *expr {
	key := strings.TrimSuffix(name, "!")
	if strings.HasSuffix(name, "?") || key == "" {
		p.unsupported(nameAt, "."+name, "read the key with .dig(:"+strings.TrimSuffix(name, "?")+") or [:"+strings.TrimSuffix(name, "?")+"]")
	}
	if p.peek() == '(' {
		p.unsupported(nameAt, "."+name+"(...)", "a credentials key takes no arguments")
	}
	lit := &expr{op: opLit, val: value{k: kSym, s: key}, pos: p.seg.srcOffset(nameAt), src: name}
	var x *expr
	if key != name {
		x = &expr{op: opFunc, fn: fCredentialBang, args: []*expr{recv, lit}}
	} else {
		x = &expr{op: opIndex, args: []*expr{recv, lit}, options: true}
	}
	x.pos = p.seg.srcOffset(nameAt)
	x.src = p.s[start:p.i]
	return x
}
