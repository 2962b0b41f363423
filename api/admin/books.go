package admin

// booksRoutes are the open-books costs and billing pages.
var booksRoutes []route
