package container

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
)

// DefaultNetwork is the network containers join when they name none:
// podman's "podman", docker's "bridge".
func (c *CLI) DefaultNetwork() string {
	if c.kind == Podman {
		return "podman"
	}
	return "bridge"
}

// Gateway is the host's address on the default network: where a
// container reaches a service listening on the host (podman names it
// host.containers.internal). On podman the bridge holding it may only
// exist while a container runs: a listener for containers binds it with
// IP_FREEBIND.
func (c *CLI) Gateway(ctx context.Context) (netip.Addr, error) {
	name := c.DefaultNetwork()
	out, err := c.output(ctx, nil, "network", "inspect", name)
	if err != nil {
		return netip.Addr{}, err
	}
	return parseGateway(name, out)
}

// parseGateway reads the first IPv4 gateway of `network inspect`: podman's
// shape ([{"subnets": [{"gateway"}]}]) or docker's ([{"IPAM": {"Config":
// [{"Gateway"}]}}]).
func parseGateway(name string, out []byte) (netip.Addr, error) {
	var nets []struct {
		Subnets []struct {
			Gateway string `json:"gateway"`
		} `json:"subnets"`
		IPAM struct {
			Config []struct {
				Gateway string `json:"Gateway"`
			} `json:"Config"`
		} `json:"IPAM"`
	}
	if err := json.Unmarshal(out, &nets); err != nil {
		return netip.Addr{}, fmt.Errorf("network inspect %s: %w", name, err)
	}
	var gws []string
	for _, n := range nets {
		for _, s := range n.Subnets {
			gws = append(gws, s.Gateway)
		}
		for _, s := range n.IPAM.Config {
			gws = append(gws, s.Gateway)
		}
	}
	for _, g := range gws {
		if a, err := netip.ParseAddr(g); err == nil && a.Is4() {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("network inspect %s: no IPv4 gateway in %d network(s): containers cannot reach the host", name, len(nets))
}
