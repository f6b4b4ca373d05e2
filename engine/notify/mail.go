package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// SMTP is a mail server to send through (--smtp, --smtp-from).
type SMTP struct {
	// Addr is host:port.
	Addr string
	// Implicit TLS from the first byte (smtps://); otherwise STARTTLS is
	// used whenever the server offers it.
	TLS      bool
	User     string
	Password string
	From     string
	// TLSConfig overrides the TLS settings (tests); nil verifies the host.
	TLSConfig *tls.Config
}

// ParseSMTP reads smtp://user:password@host:port or smtps://... (ports 587
// and 465 by default).
func ParseSMTP(raw, from string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--smtp: not a URL")
	}
	s := &SMTP{From: from}
	port := "587"
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.TLS, port = true, "465"
	default:
		return nil, fmt.Errorf("--smtp: want smtp:// or smtps://, got %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("--smtp: no host")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	s.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if from == "" {
		return nil, errors.New("--smtp needs --smtp-from (the sender address)")
	}
	if err := checkAddress(from); err != nil {
		return nil, fmt.Errorf("--smtp-from: %w", err)
	}
	return s, nil
}

// mailMessage is the whole message, headers and plain text, as sent.
func (n *Notifier) mailMessage(d *engine.Delivery, subject, text string) []byte {
	from := "simjobs@localhost"
	if n.o.SMTP != nil {
		from = n.o.SMTP.From
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", d.Target)
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", d.Created.Format(time.RFC1123Z))
	h("Message-ID", "<"+strings.NewReplacer("@", ".", " ", "").Replace(d.ID)+"@simjobs>")
	h("X-Simjobs-Delivery", d.ID)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		// A lone "." line would end the DATA; the smtp package escapes
		// dots, but line ends must be CRLF.
		b.WriteString(line + "\r\n")
	}
	return b.Bytes()
}

// send delivers one mail.
func (s *SMTP) send(ctx context.Context, d engine.Delivery) result {
	if s == nil {
		return result{err: errors.New("no mail server configured (--smtp)"), permanent: true}
	}
	if err := checkAddress(d.Target); err != nil {
		return result{err: err, permanent: true}
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	tlsConf := s.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return result{err: fmt.Errorf("smtp: %w", err)}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if s.TLS {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return result{err: fmt.Errorf("smtp: tls: %w", err)}
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return smtpResult(err)
	}
	defer c.Close()
	if err := c.Hello("simjobs"); err != nil {
		return smtpResult(err)
	}
	if !s.TLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return smtpResult(err)
			}
		}
	}
	if s.User != "" {
		// PlainAuth refuses to send the password unencrypted except to
		// localhost.
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, host)); err != nil {
			return smtpResult(err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return smtpResult(err)
	}
	if err := c.Rcpt(d.Target); err != nil {
		return smtpResult(err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpResult(err)
	}
	if _, err := w.Write(d.Payload); err != nil {
		return smtpResult(err)
	}
	if err := w.Close(); err != nil {
		return smtpResult(err)
	}
	_ = c.Quit()
	return result{code: 250}
}

// smtpResult classifies an SMTP error: 5xx replies are permanent.
func smtpResult(err error) result {
	var te *textproto.Error
	if errors.As(err, &te) {
		return result{code: te.Code, err: fmt.Errorf("smtp: %w", err), permanent: te.Code >= 500}
	}
	return result{err: fmt.Errorf("smtp: %w", err)}
}
