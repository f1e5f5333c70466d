import compression from "compression";
import cookieParser from "cookie-parser";
import cors from "cors";
import dayjs from "dayjs";
import express from "express";
import helmet from "helmet";
import morgan from "morgan";
import pino from "pino";
import { v4 as uuid } from "uuid";
import { z } from "zod";

const log = pino();
const app = express();
app.use(helmet(), cors(), compression(), cookieParser(), morgan("tiny"));

const Greeting = z.object({ name: z.string().default("world") });

app.get("/", (req, res) => {
  const { name } = Greeting.parse({ name: req.query.name });
  res.send(`hello ${name}, it is ${dayjs().format("YYYY-MM-DD")} (${uuid()})`);
});

app.listen(Number(process.env.PORT ?? 3000), () => log.info("listening"));
