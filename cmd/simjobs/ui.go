package main

import (
	"io/fs"
	"net/http"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/simjobs/simjobs"
	"github.com/simjobs/simjobs/frontend"
)

// mountUI adds the browser pages and their embedded assets.
func mountUI(schedType string) func(app *fiber.App) {
	return func(app *fiber.App) {
		static, err := fs.Sub(simjobs.Static, "static")
		if err != nil {
			panic(err) // the embed pattern guarantees the folder
		}
		app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: 3600}))
		app.Get("/", adaptor.HTTPHandler(templ.Handler(frontend.Home(version, schedType))))
	}
}
