"""Service checks for `alur status`, one module per service family; each registers its checks with
`alur.status.service_check(group, name)`. `alur status` imports every module of this package."""
