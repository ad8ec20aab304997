using Autograd.Api.Datasets;
using Autograd.Api.Gradients;
using Autograd.Api.Infrastructure;
using Autograd.Api.Minimize;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceLogging();
builder.AddAutogradServices();
builder.Services.AddServiceSwagger();

var app = builder.Build();
app.UseRequestLogging();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseSwagger();
app.UseSwaggerUI();

app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready");
app.MapGradientApi();
app.MapMinimizeApi();
app.MapDatasetApi();

app.Run();
