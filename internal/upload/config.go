package upload

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Defaults of Config (spec §7.3 and Appendix A).
const (
	DefaultMaxFileSize        = 50 << 20  // bytes
	DefaultMaxBytesPerUser    = 500 << 20 // bytes per QuotaInterval
	DefaultQuotaInterval      = 24 * time.Hour
	DefaultChunkTimeout       = 30 * time.Second
	DefaultMaxConcurrent      = 4
	DefaultChunkSize          = 64 << 10
	MinChunkSize              = 1
	MaxChunkSize              = 1 << 20
	MaxUploadIDLen            = 128 // UTF-16 code units
	MaxFilenameLen            = 255 // UTF-16 code units, after basename
	DefaultMissingReportLimit = 1024
)

// DefaultAllowedTypes are the MIME types accepted when Config.AllowedTypes
// is nil (spec §7.3).
var DefaultAllowedTypes = []string{
	"image/jpeg", "image/png", "image/gif", "image/webp", "image/svg+xml",
	"application/pdf",
	"text/plain", "text/csv", "text/markdown",
	"application/json",
	"application/zip", "application/gzip",
}

// DefaultBlockedExtensions are the extensions refused when
// Config.BlockedExtensions is nil, as the last extension of a filename and
// as any intermediate one ("x.exe.png") (spec §7.3).
var DefaultBlockedExtensions = []string{
	".exe", ".bat", ".cmd", ".com", ".msi", ".scr", ".pif",
	".sh", ".bash", ".zsh", ".csh",
	".ps1", ".psm1", ".psd1",
	".vbs", ".vbe", ".js", ".jse", ".wsf", ".wsh",
	".dll", ".sys", ".drv", ".so", ".dylib",
}

// Config configures a Manager. The zero value of every field is its
// documented default.
type Config struct {
	// TempDir holds the temporary files of uploads in progress. Default
	// os.TempDir(). It is created if missing.
	TempDir string

	// MaxFileSize is the largest accepted fileSize in bytes. Default 50 MiB.
	MaxFileSize int64

	// MaxBytesPerUser caps the bytes one user may announce per
	// QuotaInterval: the whole fileSize is charged at START and never
	// refunded. The user is the authenticated user id, else the connection
	// ("conn:<id>"). Default 500 MiB; negative disables the quota.
	MaxBytesPerUser int64

	// QuotaInterval is how often a user's quota is reset. Default 24 h.
	QuotaInterval time.Duration

	// AllowedTypes lists the accepted fileType values (exact MIME types,
	// compared case-insensitively, or "type/*"); the single entry "*"
	// accepts every type. Default (nil): DefaultAllowedTypes. Declared
	// types with a known signature (JPEG, PNG, GIF, WebP, PDF, ZIP, GZIP)
	// are also checked against the file's first bytes.
	AllowedTypes []string

	// BlockedExtensions lists refused filename extensions, with their dot,
	// compared case-insensitively. Default (nil): DefaultBlockedExtensions;
	// an empty non-nil slice blocks nothing.
	BlockedExtensions []string

	// ChunkTimeout is how long an upload may stay without a chunk (or its
	// connection gone without being resumed) before it is removed with its
	// temporary file. Removal happens between 1× and 1.5× ChunkTimeout
	// after the last activity. Default 30 s.
	ChunkTimeout time.Duration

	// MaxConcurrent caps the uploads in progress per connection. Default 4.
	MaxConcurrent int

	// Storage receives completed files. Default: LocalDir{Dir: "./uploads"}.
	Storage Storage
}

// withDefaults returns a validated copy of c with the defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = DefaultMaxFileSize
	}
	if c.MaxFileSize < 0 {
		return c, fmt.Errorf("upload: MaxFileSize must be positive, got %d", c.MaxFileSize)
	}
	if c.MaxBytesPerUser == 0 {
		c.MaxBytesPerUser = DefaultMaxBytesPerUser
	}
	if c.QuotaInterval == 0 {
		c.QuotaInterval = DefaultQuotaInterval
	}
	if c.QuotaInterval < 0 {
		return c, fmt.Errorf("upload: QuotaInterval must be positive, got %v", c.QuotaInterval)
	}
	if c.AllowedTypes == nil {
		c.AllowedTypes = DefaultAllowedTypes
	}
	c.AllowedTypes = lowerAll(c.AllowedTypes)
	if c.BlockedExtensions == nil {
		c.BlockedExtensions = DefaultBlockedExtensions
	}
	c.BlockedExtensions = lowerAll(c.BlockedExtensions)
	for _, e := range c.BlockedExtensions {
		if !strings.HasPrefix(e, ".") {
			return c, fmt.Errorf("upload: blocked extension %q must start with a dot", e)
		}
	}
	if c.ChunkTimeout == 0 {
		c.ChunkTimeout = DefaultChunkTimeout
	}
	if c.ChunkTimeout < 0 {
		return c, fmt.Errorf("upload: ChunkTimeout must be positive, got %v", c.ChunkTimeout)
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.MaxConcurrent < 0 {
		return c, fmt.Errorf("upload: MaxConcurrent must be positive, got %d", c.MaxConcurrent)
	}
	if c.Storage == nil {
		c.Storage = LocalDir{}
	}
	return c, nil
}

func lowerAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return out
}

// typeAllowed applies AllowedTypes to a declared fileType.
func (c *Config) typeAllowed(fileType string) bool {
	t := strings.ToLower(fileType)
	for _, a := range c.AllowedTypes {
		switch {
		case a == "*" || a == t:
			return true
		case strings.HasSuffix(a, "/*") && strings.HasPrefix(t, a[:len(a)-1]):
			return true
		}
	}
	return false
}

func (c *Config) blocked(ext string) bool {
	for _, b := range c.BlockedExtensions {
		if b == ext {
			return true
		}
	}
	return false
}
