// Package readme keeps the Go code in the repository's README.md working as pasted.
//
// The rule for README.md: every ```go block is a complete Go file, starting with its
// package clause, so that a reader can paste it into a file and run it. A block is
// written into a fresh module that requires github.com/gowai/gowai through a replace
// directive pointing at this repository, and then:
//
//   - a block whose package clause ends in _test, or that declares a func TestX, becomes
//     readme_test.go and is vetted and run with go test;
//   - any other block becomes main.go and is vetted and built; the first such block (the
//     one at the top of the README) is also run with no credentials in its environment,
//     and must exit non-zero with an error naming CLOUDFLARE_ACCOUNT_ID, not a panic.
//
// The test needs only the module cache (GOPROXY=off) and is skipped under -short.
package readme
