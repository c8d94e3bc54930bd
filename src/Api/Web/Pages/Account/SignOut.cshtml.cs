using FeedbackHub.Domain.People;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace FeedbackHub.Api.Web.Pages.Account;

/// <summary>Signing out is a POST with antiforgery (a link could sign anyone out); GET shows the signed-out page.</summary>
public sealed class SignOutModel(SignInManager<Person> signIn) : AppPageModel
{
    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        await signIn.SignOutAsync();
        return RedirectToPage();
    }
}
