using FeedbackHub.Domain.People;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace FeedbackHub.Api.Web.Pages.Account;

/// <summary>The page an invitation or a reset link opens: choose a password, then you are signed in.</summary>
public sealed class SetPasswordModel(PeopleDirectory people, SignInManager<Person> signIn) : AppPageModel
{
    [BindProperty(SupportsGet = true)]
    public Guid Person { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Token { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    public string? PasswordError { get; private set; }

    public bool LinkBroken { get; private set; }

    public void OnGet()
    {
        if (Person == Guid.Empty || string.IsNullOrEmpty(Token))
            BrokenLink();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (Person == Guid.Empty || string.IsNullOrEmpty(Token))
        {
            BrokenLink();
            return Page();
        }

        var (person, result) = await people.SetPasswordAsync(Person, Token, Password ?? string.Empty, ct);
        if (person is not null)
        {
            await signIn.SignInAsync(person, isPersistent: false);
            return Done(WebApp.Prefix + "/", "Your password is saved and you are signed in.");
        }

        if (result.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.InvalidToken)))
        {
            BrokenLink();
        }
        else
        {
            PasswordError = string.Join(" ", result.Errors.Select(e => e.Description));
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        }

        return Page();
    }

    private void BrokenLink()
    {
        LinkBroken = true;
        Error = "This link has expired or was already used.";
        Response.StatusCode = StatusCodes.Status400BadRequest;
    }
}
