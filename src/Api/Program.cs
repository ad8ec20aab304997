using Autograd.Api.Datasets;
using Autograd.Api.Export;
using Autograd.Api.Gradients;
using Autograd.Api.Infrastructure;
using Autograd.Api.Minimize;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceLogging();
builder.AddServiceTelemetry();
builder.AddAutogradServices();
builder.AddApiKeys();
builder.AddCrossOrigin();
builder.Services.AddServiceSwagger();

var app = builder.Build();
app.UseRequestLogging();
app.UseSecurityHeaders();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseCharsetCheck();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseSwagger();
app.UseSwaggerUI();
app.UseCrossOrigin();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();

app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous().DisableRateLimiting();
app.MapHealthChecks("/health/ready").AllowAnonymous().DisableRateLimiting();
app.MapServiceMetrics();
app.MapGradientApi();
app.MapMinimizeApi();
app.MapExportApi();
app.MapDatasetApi();

app.LogTenancy();
app.Run();
