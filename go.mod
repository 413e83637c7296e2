module github.com/nokv/nokv

go 1.26

require go.etcd.io/raft/v3 v3.7.0

require (
	github.com/stretchr/testify v1.12.1 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
