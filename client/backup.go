package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Backup streams a consistent copy of the server's database (POST
// /system/backup, admin) to w and returns its size. The copy is a SQLite
// file: `simjobs restore` puts it back.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint("/system/backup", nil), nil)
	if err != nil {
		return 0, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if unreachable(err) {
			return 0, &UnreachableError{URL: c.base.String(), Err: err}
		}
		return 0, fmt.Errorf("POST /system/backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return 0, &Error{Method: http.MethodPost, Path: "/system/backup", StatusCode: resp.StatusCode, Message: errorMessage(data)}
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("POST /system/backup: read the copy: %w", err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("POST /system/backup: got %d of %d bytes", n, resp.ContentLength)
	}
	return n, nil
}
