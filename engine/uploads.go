package engine

import (
	"path/filepath"

	"github.com/simjobs/simjobs/engine/upload"
)

// UploadDir is the folder of user's uploaded projects ("" when the policy
// keeps no uploads).
func (p Policy) UploadDir(user string) string {
	if p.UploadRoot == "" {
		return ""
	}
	return upload.UserDir(p.UploadRoot, user)
}

// uploadAllowed decides for a resolved path inside the upload root
// (inUploads): a user may use their own uploads; without authentication
// (authed false) every upload is the one local user's.
func (p Policy) uploadAllowed(real, owner string, authed bool) (ok, inUploads bool) {
	if p.UploadRoot == "" {
		return false, false
	}
	root := p.UploadRoot
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	if !within(root, real) {
		return false, false
	}
	if !authed {
		return true, true
	}
	mine := upload.UserDir(root, owner)
	return within(mine, real) && real != mine, true
}
