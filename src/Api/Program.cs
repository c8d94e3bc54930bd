if (args is ["lint", ..]) return await FeedbackHub.Api.Commands.LintCommand.RunAsync(args[1..], Console.In, Console.Out, Console.Error);

var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.Run();
return 0;

public partial class Program;
