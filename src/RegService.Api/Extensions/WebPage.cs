using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace RegService.Api.Extensions;

/// <summary>
/// The web page at <c>/</c>: the static files of <c>wwwroot</c> (index.html, app.js, app.css), embedded in the
/// assembly so the page is there whatever the working directory (dotnet run from the repository root, the
/// published app, the container). No key is needed for the page itself; it asks for one and sends it with every
/// API call. Served before routing and authorization.
/// </summary>
public static class WebPage
{
    /// <summary>
    /// What the page may load: its own scripts, styles and API calls, nothing inline, no frames. The plots it
    /// inserts are SVG with presentation attributes only, which style-src 'self' allows.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    /// <summary>
    /// The files are not fingerprinted, so a browser revalidates them on every load (no-cache with the ETag and
    /// Last-Modified the static file middleware sends: a 304 when nothing changed) rather than keep a stale app.js
    /// beside a new index.html after an upgrade.
    /// </summary>
    public const string CacheControl = "no-cache";

    public static IFileProvider Files { get; } =
        new EmbeddedFileProvider(typeof(WebPage).Assembly, typeof(WebPage).Assembly.GetName().Name + ".wwwroot");

    public static WebApplication UseWebPage(this WebApplication app)
    {
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = Files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = Files,
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                headers[HeaderNames.CacheControl] = CacheControl;
                headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
                headers[HeaderNames.XContentTypeOptions] = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
            },
        });
        return app;
    }
}
