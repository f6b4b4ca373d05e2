package notify

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// AllowList says where webhooks may go (--webhook-allow). It has two kinds
// of entries: host patterns ("hooks.slack.com", "*.example.com") and
// addresses or CIDRs ("127.0.0.1", "10.0.0.0/8", "fd00::/8").
//
// A URL passes when
//   - its scheme is http or https;
//   - its host matches a host pattern, or is an address inside a listed
//     CIDR, or the list has no host patterns at all;
//   - every address it is dialled at is inside a listed CIDR, or is a
//     public unicast address: loopback, private, link-local, CGNAT,
//     unspecified and multicast addresses are refused unless listed.
//
// The address rule is checked on the resolved address at dial time (see
// Control), so a name that resolves to a public address when checked and
// to 127.0.0.1 when dialled (DNS rebinding) is still refused.
type AllowList struct {
	hosts    []string // lower case; "*.x" matches any name ending in ".x"
	prefixes []netip.Prefix
}

// ParseAllowList reads comma-separated entries (or several arguments).
func ParseAllowList(entries ...string) (*AllowList, error) {
	a := &AllowList{}
	for _, e := range entries {
		for _, f := range strings.Split(e, ",") {
			f = strings.ToLower(strings.TrimSpace(f))
			if f == "" {
				continue
			}
			if p, err := netip.ParsePrefix(f); err == nil {
				a.prefixes = append(a.prefixes, p.Masked())
				continue
			}
			if ip, err := netip.ParseAddr(f); err == nil {
				a.prefixes = append(a.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			name := strings.TrimPrefix(f, "*.")
			if name == "" || strings.ContainsAny(name, "/:@*[] ") {
				return nil, fmt.Errorf("webhook allow entry %q: want a host name, *.domain, an IP address or a CIDR", f)
			}
			a.hosts = append(a.hosts, f)
		}
	}
	return a, nil
}

// ErrRefused wraps every refusal by the allow list.
var ErrRefused = errors.New("refused by the webhook allow list")

// CheckURL applies the scheme and host rules to a URL (not the address
// rule, which needs the dial). It returns the parsed URL.
func (a *AllowList) CheckURL(raw string) (*url.URL, error) {
	if len(raw) > 2048 {
		return nil, errors.New("is longer than 2048 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("must be an http:// or https:// URL")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return nil, errors.New("has no host")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if !a.addrAllowed(ip) {
			return nil, fmt.Errorf("host %s is %s: %w", host, addrKind(ip), ErrRefused)
		}
		if len(a.hosts) > 0 && !a.listed(ip) {
			return nil, fmt.Errorf("address %s is not on --webhook-allow: %w", host, ErrRefused)
		}
		return u, nil
	}
	if len(a.hosts) > 0 && !a.hostAllowed(host) {
		return nil, fmt.Errorf("host %s is not on --webhook-allow: %w", host, ErrRefused)
	}
	return u, nil
}

func (a *AllowList) hostAllowed(host string) bool {
	host = strings.TrimSuffix(host, ".")
	for _, h := range a.hosts {
		if suffix, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if host == h {
			return true
		}
	}
	return false
}

// addrAllowed is the address rule.
func (a *AllowList) addrAllowed(ip netip.Addr) bool {
	return a.listed(ip) || addrKind(ip.Unmap()) == ""
}

// listed reports whether a listed CIDR holds ip.
func (a *AllowList) listed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// addrKind names why an address is not public ("" when it is).
func addrKind(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "not an address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsPrivate(), cgnat.Contains(ip):
		return "a private address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	return ""
}

// Control is a net.Dialer Control function applying the address rule to
// the address actually dialled (after name resolution).
func (a *AllowList) Control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrRefused)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrRefused)
	}
	if !a.addrAllowed(ip) {
		return fmt.Errorf("dial %s: %s: %w", address, addrKind(ip.Unmap()), ErrRefused)
	}
	return nil
}
