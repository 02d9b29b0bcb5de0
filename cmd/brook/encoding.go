package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"unicode/utf8"
)

// encoding is how keys, values and header values are written as text
// (--encoding): consume prints them so, produce reads them so.
//
// kcat's -f format string is brook's --format; --encoding is the one
// brook-specific flag beside it, applied to every byte field alike.
type encoding string

// The encodings of --encoding.
const (
	encText   encoding = "text"   // the bytes as they are (JSON: a string, base64 when not UTF-8)
	encBase64 encoding = "base64" // standard base64, with padding (RFC 4648)
	encHex    encoding = "hex"    // lowercase hexadecimal, two digits a byte
)

// encodingHelp is the help of the --encoding flag.
const encodingHelp = "how keys, values and header values are written: text (as they are), base64 or hex"

// parseEncoding checks the value of the flag or field name.
func parseEncoding(name, s string) (encoding, error) {
	switch e := encoding(s); e {
	case encText, encBase64, encHex:
		return e, nil
	}
	return "", fmt.Errorf("%s %q: want text, base64 or hex", name, s)
}

// encodingFlag is parseEncoding for a flag: its error is a usage error.
func encodingFlag(flag, s string) (encoding, error) {
	e, err := parseEncoding(flag, s)
	if err != nil {
		return "", usageErr(err)
	}
	return e, nil
}

// encode writes b in the encoding.
func (e encoding) encode(b []byte) string {
	switch e {
	case encBase64:
		return base64.StdEncoding.EncodeToString(b)
	case encHex:
		return hex.EncodeToString(b)
	}
	return string(b)
}

// decode reads s in the encoding.
func (e encoding) decode(s string) ([]byte, error) {
	switch e {
	case encBase64:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("not valid base64: %w", err)
		}
		return b, nil
	case encHex:
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("not valid hex: %w", err)
		}
		return b, nil
	}
	return []byte(s), nil
}

// encodeJSON returns b as a JSON string field in the encoding, and the
// encoding to name beside it ("" for text). JSON strings hold only
// Unicode, so under text a b that is not valid UTF-8 is written base64
// and named so, never with its invalid bytes replaced.
func (e encoding) encodeJSON(b []byte) (s string, named encoding) {
	if e == encText {
		if utf8.Valid(b) {
			return string(b), ""
		}
		e = encBase64
	}
	return e.encode(b), e
}
