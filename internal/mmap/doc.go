// Package mmap maps a whole file read-only into memory, so that loaders can
// parse it in place and copy each tensor once, straight into its float32
// slice. On unix systems it uses mmap(2); elsewhere it reads the file.
//
// The mapped bytes must not be written and must not be used after Close. If
// another process truncates the file while it is mapped, reading the lost
// pages faults (SIGBUS); checkpoints are not expected to change while loading.
package mmap
