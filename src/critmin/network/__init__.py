"""The supply-network model: the SupplyNetwork container, its builder and country groups."""
