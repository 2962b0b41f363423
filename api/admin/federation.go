package admin

// federationRoutes are the federation pages: remote hosts, domain blocks, block lists pages.
var federationRoutes []route
