using FeedbackHub.Api.Commands;
using FeedbackHub.Api.Infrastructure;

// `lint` needs no database, no services and no web host: it runs before anything is built.
if (args is ["lint", ..])
    return await LintCommand.RunAsync(args[1..], Console.In, Console.Out, Console.Error);

// Content root is the app's folder, so appsettings.json is found whatever the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddFeedbackHubApi();
var app = builder.Build();

// One-shot commands (migrate, bootstrap-tenant, seed-demo, rekey-secrets) run with the host's services and exit.
if (HostCommands.Find(args) is { } command)
    return await command(app.Services, args[1..], Console.Out, Console.Error);

app.UseFeedbackHubApi();
await app.RunAsync();
return 0;

public partial class Program;
