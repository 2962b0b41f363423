package admin

// queueRoutes are the delivery queue health pages.
var queueRoutes []route
