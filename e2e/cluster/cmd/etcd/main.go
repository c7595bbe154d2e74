// Command etcd is etcd's own entry point, built at the version k8s.io/kubernetes requires,
// so the test cluster's storage is the etcd its API server was released with.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
