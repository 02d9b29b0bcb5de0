package main

import (
	"bufio"
	"strconv"
	"strings"
	"time"

	"github.com/brookmq/brook"
)

// defaultFormat is how consume prints a message without --format.
const defaultFormat = `%v\n`

// formatHelp lists the --format directives, for the flag's help.
const formatHelp = "print each message with this format: %t topic, %p partition, %o offset, " +
	"%k key, %v value, %T timestamp (RFC 3339), %h headers (k=v,k=v), %% a percent sign; " +
	`\n newline, \t tab, \\ backslash`

// formatter prints messages according to a kcat-style format string,
// parsed once.
type formatter struct {
	ops []fmtOp
	enc encoding // of %k, %v and the header values of %h (zero: text)
}

// fmtOp is one piece of a format: literal text, or a message field.
type fmtOp struct {
	lit   string
	field byte // 0 for a literal
}

// parseFormat parses a --format string. Unknown directives and escapes are
// errors, so that a typo does not silently print the wrong thing.
func parseFormat(s string) (*formatter, error) {
	f := &formatter{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.ops = append(f.ops, fmtOp{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' && c != '\\' {
			lit.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			return nil, usagef("--format %q ends with a lone %q", s, c)
		}
		i++
		d := s[i]
		switch {
		case c == '\\' && escape(d) != 0:
			lit.WriteByte(escape(d))
		case c == '%' && d == '%':
			lit.WriteByte('%')
		case c == '%' && strings.IndexByte("tpokvTh", d) >= 0:
			flush()
			f.ops = append(f.ops, fmtOp{field: d})
		default:
			return nil, usagef("--format %q: unknown %c%c (use %%t %%p %%o %%k %%v %%T %%h %%%%, \\n \\t \\\\)", s, c, d)
		}
	}
	flush()
	return f, nil
}

// escape returns the byte that a backslash followed by d stands for, or 0.
func escape(d byte) byte {
	switch d {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	case '\\':
		return '\\'
	}
	return 0
}

// write prints m.
func (f *formatter) write(w *bufio.Writer, m *brook.Message) {
	for _, op := range f.ops {
		switch op.field {
		case 0:
			w.WriteString(op.lit)
		case 't':
			w.WriteString(m.Topic)
		case 'p':
			w.WriteString(strconv.Itoa(m.Partition))
		case 'o':
			w.WriteString(strconv.FormatInt(m.Offset, 10))
		case 'k':
			f.bytes(w, m.Key)
		case 'v':
			f.bytes(w, m.Value)
		case 'T':
			w.WriteString(m.Timestamp.UTC().Format(time.RFC3339Nano))
		case 'h':
			for i, h := range m.Headers {
				if i > 0 {
					w.WriteByte(',')
				}
				w.WriteString(h.Key)
				w.WriteByte('=')
				f.bytes(w, h.Value)
			}
		}
	}
}

// bytes writes b in the formatter's encoding.
func (f *formatter) bytes(w *bufio.Writer, b []byte) {
	if f.enc == "" || f.enc == encText {
		w.Write(b)
		return
	}
	w.WriteString(f.enc.encode(b))
}
