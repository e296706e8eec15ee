module github.com/neuronlens/neuronlens

go 1.26.0

require (
	github.com/ebitengine/purego v0.11.3
	github.com/nlpodyssey/spago v1.1.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/sys v0.50.0
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/google/flatbuffers v23.5.26+incompatible // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
