package admin

// leaveRoutes are the tenant deletion (leaving) pages.
var leaveRoutes []route
