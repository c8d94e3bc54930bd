namespace FeedbackHub.Api.Web.Pages;

public sealed class DeniedModel : AppPageModel
{
    public void OnGet() => Response.StatusCode = StatusCodes.Status403Forbidden;
}
